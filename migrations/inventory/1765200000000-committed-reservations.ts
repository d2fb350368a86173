import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A reservation may be COMMITTED (commitStock): its order was delivered, and its
 * lines came off on_hand and reserved. It still names its lines, for the record;
 * products.reserved counts only RESERVED ones.
 */
export class CommittedReservations1765200000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE inventory.reservations
        DROP CONSTRAINT reservations_status_check,
        ADD CONSTRAINT reservations_status_check CHECK (status IN ('RESERVED', 'REJECTED', 'RELEASED', 'COMMITTED'))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    // A sale cannot be turned back into a hold by a schema: refuse rather than invent stock.
    const [{ committed }] = (await runner.query(`SELECT count(*)::int AS committed FROM inventory.reservations WHERE status = 'COMMITTED'`)) as Array<{
      committed: number;
    }>;
    if (committed > 0) throw new Error(`${committed} reservations are COMMITTED: the previous schema cannot hold them`);
    await runner.query(`
      ALTER TABLE inventory.reservations
        DROP CONSTRAINT reservations_status_check,
        ADD CONSTRAINT reservations_status_check CHECK (status IN ('RESERVED', 'REJECTED', 'RELEASED'))`);
  }
}
