import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Orders whose shipment was cancelled before it was ever scheduled: a late
 * schedule for one of them is refused. A table of its own rather than a status
 * of shipping.shipments: a void has no address, and is not a shipment anyone
 * should list.
 */
export class CreateVoidedOrders1764400000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE shipping.voided_orders (
        order_id  uuid         PRIMARY KEY,
        voided_at timestamptz  NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE shipping.voided_orders');
  }
}
