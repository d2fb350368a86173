import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The checkout saga moves onto the platform's saga engine (ADR 14): its rows
 * and log go to orders.sagas and orders.saga_log (created by the platform's
 * migration), and an order may now be cancelled by its customer (CANCELLING,
 * then CANCELLED / CANCELLED_BY_CUSTOMER).
 */
export class SagasOnTheEngine1764900000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      INSERT INTO orders.sagas (saga, key, step, status, failure_reason, attempts, next_run_at, deadline_at, locked_until,
                                version, last_error, trace_context, updated_at)
      SELECT 'checkout', order_id::text, step, CASE WHEN step = 'DONE' THEN 'DONE' ELSE 'RUNNING' END, failure_reason, attempts,
             next_run_at, deadline_at, locked_until, version, last_error, trace_context, updated_at
        FROM orders.checkout_sagas`);
    await runner.query(`
      INSERT INTO orders.saga_log (saga, key, step, status, at)
      SELECT 'checkout', order_id::text, step, status, at FROM orders.checkout_log ORDER BY id`);
    await runner.query('DROP TABLE orders.checkout_log, orders.checkout_sagas');
    await runner.query('ALTER TABLE orders.orders DROP CONSTRAINT orders_status_check, DROP CONSTRAINT orders_failure_reason_check');
    await runner.query(`
      ALTER TABLE orders.orders
        ADD CONSTRAINT orders_status_check CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLING', 'CANCELLED')),
        ADD CONSTRAINT orders_failure_reason_check CHECK (failure_reason IN ('PAYMENT_DECLINED', 'OUT_OF_STOCK', 'SHIPPING_UNAVAILABLE', 'TIMED_OUT', 'CANCELLED_BY_CUSTOMER'))`);
  }

  async down(_runner: QueryRunner): Promise<void> {
    throw new Error('the sagas cannot be moved back off the engine (restore a backup instead)');
  }
}
