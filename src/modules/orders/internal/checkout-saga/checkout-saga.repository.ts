import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { MODULE_DATA_SOURCE } from '../../../../platform/database/module-databases.js';
import { queryPrepared } from '../../../../platform/database/prepared-query.js';
import { ModuleTransactions } from '../../../../platform/messaging/module-transactions.js';
import { OrderCancelled, OrderConfirmed } from '../../contract/order-events.js';
import type { FailureReason } from '../../contract/order.view.js';
import type { SagaStep, Transition } from './checkout-saga.js';
import type { ClaimedSaga, SagaOrder } from './saga-order.js';

interface SagaRow {
  order_id: string;
  step: SagaStep;
  failure_reason: FailureReason | null;
  attempts: number;
  deadline_at: Date;
  version: number;
  trace_context: Record<string, string>;
}

/** The checkout sagas' tables: claiming due sagas, and recording each step's result atomically. */
@Injectable()
export class CheckoutSagaRepository {
  constructor(
    @Inject(MODULE_DATA_SOURCE) private readonly db: DataSource,
    private readonly transactions: ModuleTransactions,
  ) {}

  /** Leases due sagas to this runner, skipping those another runner holds. */
  async claim(limit: number, leaseMs: number): Promise<ClaimedSaga[]> {
    // Not prepared (see queryPrepared): the generic plan of this queue scan joins the whole table.
    const [rows] = (await this.db.query(
      `WITH due AS (
         SELECT order_id FROM orders.checkout_sagas
          WHERE step <> 'DONE' AND next_run_at <= now() AND (locked_until IS NULL OR locked_until < now())
          ORDER BY next_run_at
          LIMIT $1
          FOR UPDATE SKIP LOCKED)
       UPDATE orders.checkout_sagas s
          SET locked_until = now() + make_interval(secs => $2 / 1000.0), version = s.version + 1
         FROM due WHERE s.order_id = due.order_id
       RETURNING s.order_id, s.step, s.failure_reason, s.attempts, s.deadline_at, s.version, s.trace_context`,
      [limit, leaseMs],
    )) as [SagaRow[], number];
    if (rows.length === 0) return [];
    const orders = await this.loadOrders(rows.map((row) => row.order_id));
    return rows.map((row) => ({
      orderId: row.order_id,
      step: row.step,
      failureReason: row.failure_reason,
      attempts: row.attempts,
      deadlineAt: row.deadline_at,
      version: row.version,
      order: orders.get(row.order_id)!,
      traceContext: row.trace_context,
    }));
  }

  /**
   * Records a transition atomically: the saga's new step, its log
   * entries, the order's ids and final status, and the event announcing it.
   * Answers whether it applied (not if another runner moved the saga
   * meanwhile, this runner's lease having expired: then it does nothing) and
   * the saga as it now stands, unless it ended.
   */
  async advance(saga: ClaimedSaga, transition: Transition, leaseMs: number): Promise<{ applied: boolean; next?: ClaimedSaga }> {
    const outcome = transition.outcome;
    // One statement: the saga moves only if this runner still holds it (version), and then
    // the log and the order move with it. Round trips, not rows, are what a step costs.
    // It also answers what the order's end event tells subscribers (customer, total).
    const [row] = await this.transactions.statement<{
      version: number | null;
      payment_id: string | null;
      shipment_id: string | null;
      customer_id: string | null;
      total_cents: string | null;
    }>(
      'advance-saga',
      `WITH moved AS (
         UPDATE orders.checkout_sagas
            SET step = $3, failure_reason = $4, attempts = 0, next_run_at = now(), last_error = NULL,
                version = version + 1, updated_at = now(),
                locked_until = CASE WHEN $3 = 'DONE' THEN NULL ELSE now() + make_interval(secs => $5 / 1000.0) END
          WHERE order_id = $1 AND version = $2
         RETURNING version
       ), logged AS (
         INSERT INTO orders.checkout_log (order_id, step, status)
         SELECT $1, l.step, l.status FROM unnest($6::text[], $7::text[]) WITH ORDINALITY AS l (step, status, n)
          WHERE EXISTS (SELECT 1 FROM moved) ORDER BY l.n
       ), ordered AS (
         UPDATE orders.orders
            SET payment_id = coalesce($8, payment_id), shipment_id = coalesce($9, shipment_id),
                status = coalesce($10, status), failure_reason = coalesce($11, failure_reason), updated_at = now()
          WHERE id = $1 AND EXISTS (SELECT 1 FROM moved)
         RETURNING payment_id, shipment_id, customer_id, total_cents
       )
       SELECT (SELECT version FROM moved) AS version, o.payment_id, o.shipment_id, o.customer_id, o.total_cents
         FROM (SELECT 1) AS one LEFT JOIN ordered o ON true`,
      [
        saga.orderId,
        saga.version,
        transition.next,
        transition.failureReason,
        leaseMs,
        transition.log.map((entry) => entry.step),
        transition.log.map((entry) => entry.status),
        transition.paymentId ?? null,
        transition.shipmentId ?? null,
        outcome?.status ?? null,
        outcome?.status === 'CANCELLED' ? outcome.reason : null,
      ],
      {
        // Only the transition that ends the order can publish: every other step stays one
        // round trip with no BEGIN/COMMIT, even now that these events have subscribers.
        types: outcome?.status === 'CONFIRMED' ? [OrderConfirmed] : outcome?.status === 'CANCELLED' ? [OrderCancelled] : [],
        // An order's end is announced only if this runner's transition applied.
        of: ([moved]) =>
          moved.version === null
            ? []
            : outcome?.status === 'CONFIRMED'
              ? [new OrderConfirmed(saga.orderId, moved.customer_id!, moved.payment_id!, moved.shipment_id!, Number(moved.total_cents))]
              : outcome?.status === 'CANCELLED'
                ? [new OrderCancelled(saga.orderId, moved.customer_id!, outcome.reason)]
                : [],
      },
    );
    if (row.version === null) return { applied: false };
    if (transition.next === 'DONE') return { applied: true };
    return {
      applied: true,
      next: { ...saga, step: transition.next, failureReason: transition.failureReason, attempts: 0, version: row.version },
    };
  }

  /** A technical failure: try the same step again after `delayMs`, and release the lease. */
  async retryLater(saga: ClaimedSaga, delayMs: number, error: string): Promise<void> {
    await this.db.query(
      `UPDATE orders.checkout_sagas
          SET attempts = attempts + 1, next_run_at = now() + make_interval(secs => $3 / 1000.0),
              last_error = left($4, 2000), locked_until = NULL, version = version + 1, updated_at = now()
        WHERE order_id = $1 AND version = $2`,
      [saga.orderId, saga.version, delayMs, error],
    );
  }

  /**
   * Ends this runner's lease on a saga whatever its version (the runner lost
   * track of it): it is claimed again after `delayMs`. Safe because every step
   * is idempotent and every transition checks the version.
   */
  async release(orderId: string, delayMs: number): Promise<void> {
    await this.db.query(
      `UPDATE orders.checkout_sagas
          SET locked_until = NULL, next_run_at = now() + make_interval(secs => $2 / 1000.0), version = version + 1
        WHERE order_id = $1 AND step <> 'DONE'`,
      [orderId, delayMs],
    );
  }

  /**
   * How long the longest-waiting saga has been due without any runner taking
   * it (ms; 0 when none waits): how far the runners are behind.
   */
  async queuedWaitMs(): Promise<number> {
    const [row] = await queryPrepared<{ waited_ms: number | null }>(
      this.db,
      'orders.queued-saga-wait',
      `SELECT extract(epoch FROM now() - min(next_run_at)) * 1000 AS waited_ms
         FROM orders.checkout_sagas
        WHERE step <> 'DONE' AND next_run_at <= now() AND (locked_until IS NULL OR locked_until < now())`,
      [],
    );
    return Math.max(0, Number(row.waited_ms ?? 0));
  }

  /** When the next saga falls due, so the runner can sleep exactly until then. */
  async nextDueInMs(): Promise<number | undefined> {
    const [row] = await this.db.query(
      `SELECT extract(epoch FROM min(greatest(next_run_at, coalesce(locked_until, next_run_at))) - now()) * 1000 AS due_in_ms
         FROM orders.checkout_sagas WHERE step <> 'DONE'`,
    );
    return row.due_in_ms === null ? undefined : Math.max(0, Number(row.due_in_ms));
  }

  private async loadOrders(orderIds: readonly string[]): Promise<Map<string, SagaOrder>> {
    const rows: Array<{
      id: string;
      total_cents: string;
      payment_token: string;
      shipping_address: SagaOrder['shippingAddress'];
      lines: Array<{ sku: string; quantity: number }>;
    }> = await queryPrepared(
      this.db,
      'orders.saga-orders',
      `SELECT o.id, o.total_cents, o.payment_token, o.shipping_address,
              (SELECT json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity) ORDER BY l.line_no)
                 FROM orders.order_lines l WHERE l.order_id = o.id) AS lines
         FROM orders.orders o WHERE o.id = ANY($1::uuid[])`,
      [orderIds],
    );
    return new Map(
      rows.map((row) => [
        row.id,
        {
          orderId: row.id,
          totalCents: Number(row.total_cents),
          paymentToken: row.payment_token,
          shippingAddress: row.shipping_address,
          lines: row.lines,
        },
      ]),
    );
  }
}
