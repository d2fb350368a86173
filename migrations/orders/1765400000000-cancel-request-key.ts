import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The request that started a customer's cancellation (ADR 32): a remote caller's
 * retry of that request names it again, and is answered as the request that started
 * it (202), not as a repeat (200). Null for a cancellation started without one.
 */
export class CancelRequestKey1765400000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE orders.orders ADD COLUMN cancel_request_key text`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE orders.orders DROP COLUMN cancel_request_key`);
  }
}
