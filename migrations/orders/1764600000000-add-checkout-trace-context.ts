import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The trace of the request that placed the order, so every saga step joins it, whenever it runs. */
export class AddCheckoutTraceContext1764600000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE orders.checkout_sagas ADD COLUMN trace_context jsonb NOT NULL DEFAULT '{}'`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE orders.checkout_sagas DROP COLUMN trace_context');
  }
}
