import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The delivery workflow (ADR 33): an order may be DELIVERED (terminal), or
 * CANCELLED because its parcel came back (RETURNED) or never came
 * (NOT_DELIVERED). While the delivery workflow undoes an order (CANCELLING),
 * the row already holds why: the customer's cancellation cannot take it over,
 * and the workflow knows the order is its own to finish. The view shows a
 * failureReason only once CANCELLED (store-api.md).
 */
export class DeliveredOrders1765300000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE orders.orders
        DROP CONSTRAINT orders_status_check,
        DROP CONSTRAINT orders_failure_reason_check,
        DROP CONSTRAINT orders_check,
        ADD CONSTRAINT orders_status_check CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLING', 'CANCELLED', 'DELIVERED')),
        ADD CONSTRAINT orders_failure_reason_check CHECK (failure_reason IN ('PAYMENT_DECLINED', 'OUT_OF_STOCK', 'SHIPPING_UNAVAILABLE', 'TIMED_OUT',
                                                                           'CANCELLED_BY_CUSTOMER', 'RETURNED', 'NOT_DELIVERED')),
        ADD CONSTRAINT orders_check CHECK (CASE status WHEN 'CANCELLED' THEN failure_reason IS NOT NULL
                                                       WHEN 'CANCELLING' THEN failure_reason IS NULL OR failure_reason IN ('RETURNED', 'NOT_DELIVERED')
                                                       ELSE failure_reason IS NULL END)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    const [{ n }] = (await runner.query(
      `SELECT count(*)::int AS n FROM orders.orders WHERE status = 'DELIVERED' OR failure_reason IN ('RETURNED', 'NOT_DELIVERED')`,
    )) as Array<{ n: number }>;
    if (n > 0) throw new Error(`${n} orders were delivered, or undone by their delivery: the previous schema cannot hold them`);
    await runner.query(`
      ALTER TABLE orders.orders
        DROP CONSTRAINT orders_status_check,
        DROP CONSTRAINT orders_failure_reason_check,
        DROP CONSTRAINT orders_check,
        ADD CONSTRAINT orders_status_check CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLING', 'CANCELLED')),
        ADD CONSTRAINT orders_failure_reason_check CHECK (failure_reason IN ('PAYMENT_DECLINED', 'OUT_OF_STOCK', 'SHIPPING_UNAVAILABLE', 'TIMED_OUT', 'CANCELLED_BY_CUSTOMER')),
        ADD CONSTRAINT orders_check CHECK ((status = 'CANCELLED') = (failure_reason IS NOT NULL))`);
  }
}
