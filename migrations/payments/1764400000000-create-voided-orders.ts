import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Orders refunded before they were ever charged: a late charge for one of
 * them is refused. A table of its own rather than a status of
 * payments.payments: a void has no amount or token, and is not a payment
 * anyone should list.
 */
export class CreateVoidedOrders1764400000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE payments.voided_orders (
        order_id  uuid         PRIMARY KEY,
        voided_at timestamptz  NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE payments.voided_orders');
  }
}
