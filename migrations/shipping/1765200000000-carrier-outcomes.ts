import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the carrier reports of a SCHEDULED shipment (its signed webhook, ADR 28):
 * DELIVERED or RETURNED, and when, as the carrier said. Only a shipment takes an
 * outcome: a VOIDED row has no parcel, so a CHECK ties the time to the two statuses.
 */
export class CarrierOutcomes1765200000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE shipping.shipments DROP CONSTRAINT shipments_status_check`);
    await runner.query(`
      ALTER TABLE shipping.shipments
        ADD COLUMN carrier_event_at timestamptz,
        ADD CONSTRAINT shipments_status_check CHECK (status IN ('SCHEDULED', 'CANCELLED', 'VOIDED', 'DELIVERED', 'RETURNED')),
        ADD CONSTRAINT shipments_carrier_event_check CHECK ((carrier_event_at IS NOT NULL) = (status IN ('DELIVERED', 'RETURNED')))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    // A parcel's outcome cannot be unlearnt by a schema: refuse rather than pretend it was SCHEDULED.
    const [{ settled }] = (await runner.query(`SELECT count(*)::int AS settled FROM shipping.shipments WHERE status IN ('DELIVERED', 'RETURNED')`)) as Array<{
      settled: number;
    }>;
    if (settled > 0) throw new Error(`${settled} shipments are DELIVERED or RETURNED: the previous schema cannot hold them`);
    await runner.query(`
      ALTER TABLE shipping.shipments
        DROP CONSTRAINT shipments_carrier_event_check,
        DROP CONSTRAINT shipments_status_check,
        DROP COLUMN carrier_event_at,
        ADD CONSTRAINT shipments_status_check CHECK (status IN ('SCHEDULED', 'CANCELLED', 'VOIDED'))`);
  }
}
