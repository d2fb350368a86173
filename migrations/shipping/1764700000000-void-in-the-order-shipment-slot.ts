import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A void (an order whose shipment was cancelled before it was ever scheduled)
 * becomes the order's row in shipping.shipments, with status VOIDED, instead
 * of a row of its own table. The order's one row is then the single place
 * where a schedule and a cancel of the same order meet: UNIQUE (order_id)
 * makes the second of two concurrent writers wait for the first and see what
 * it did. That is what lets each be one statement, with no per-order lock
 * taken in a statement of its own (see docs/adr/0010).
 *
 * A void has no address: its address columns are null, which the CHECK ties
 * to VOIDED. Views never show a VOIDED row.
 */
export class VoidInTheOrderShipmentSlot1764700000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE shipping.shipments DROP CONSTRAINT shipments_status_check`);
    await runner.query(`
      ALTER TABLE shipping.shipments
        ALTER COLUMN address_name DROP NOT NULL,
        ALTER COLUMN address_line1 DROP NOT NULL,
        ALTER COLUMN address_city DROP NOT NULL,
        ALTER COLUMN address_postal_code DROP NOT NULL,
        ALTER COLUMN address_country DROP NOT NULL,
        ADD CONSTRAINT shipments_status_check CHECK (status IN ('SCHEDULED', 'CANCELLED', 'VOIDED')),
        ADD CONSTRAINT shipments_address_check CHECK (
          CASE WHEN status = 'VOIDED'
               THEN num_nonnulls(address_name, address_line1, address_city, address_postal_code, address_country) = 0
               ELSE num_nulls(address_name, address_line1, address_city, address_postal_code, address_country) = 0 END)`);
    await runner.query(`
      INSERT INTO shipping.shipments (order_id, status, created_at, updated_at)
      SELECT order_id, 'VOIDED', voided_at, voided_at FROM shipping.voided_orders
      ON CONFLICT (order_id) DO NOTHING`);
    await runner.query('DROP TABLE shipping.voided_orders');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE shipping.voided_orders (
        order_id  uuid         PRIMARY KEY,
        voided_at timestamptz  NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      WITH voids AS (DELETE FROM shipping.shipments WHERE status = 'VOIDED' RETURNING order_id, created_at)
      INSERT INTO shipping.voided_orders (order_id, voided_at) SELECT order_id, created_at FROM voids`);
    await runner.query(`
      ALTER TABLE shipping.shipments
        DROP CONSTRAINT shipments_address_check,
        DROP CONSTRAINT shipments_status_check,
        ALTER COLUMN address_name SET NOT NULL,
        ALTER COLUMN address_line1 SET NOT NULL,
        ALTER COLUMN address_city SET NOT NULL,
        ALTER COLUMN address_postal_code SET NOT NULL,
        ALTER COLUMN address_country SET NOT NULL,
        ADD CONSTRAINT shipments_status_check CHECK (status IN ('SCHEDULED', 'CANCELLED'))`);
  }
}
