import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  CommandHandler,
  currentTraceHeaders,
  type ICommandHandler,
  ModuleError,
  MODULE_DATA_SOURCE,
  recordSignal,
  TransactionRunner,
} from '../../../../platform/index.js';
import type { DataSource } from 'typeorm';
import { CancelOrderCommand } from '../../contract/cancel-order.command.js';
import type { CancelOrderResult } from '../../contract/cancel-order.result.js';
import type { FailureReason, OrderStatus } from '../../contract/order.view.js';
import { CANCELLATION_SAGA, type CancellationSagaRunner } from '../checkout-saga/order-sagas.providers.js';
import { DELIVERY_FAILURES } from '../delivery-saga/delivery-order.js';
import { CANCELLED_BY_CUSTOMER } from '../delivery-saga/delivery-signals.js';
import { orderNotFound } from '../get-order/get-order.handler.js';
import { OrderRepository } from '../infrastructure/order.repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Starts a customer's cancellation of a CONFIRMED order, in one statement: the
 * order goes CANCELLING and its cancellation saga starts only if it was
 * CONFIRMED, which its checkout sets in the same statement that ends that
 * saga. So a cancellation can never run beside its checkout, and of two
 * concurrent requests the second waits on the order's row, finds it
 * CANCELLING, and starts nothing.
 */
@Injectable()
@CommandHandler(CancelOrderCommand)
export class CancelOrderHandler implements ICommandHandler<CancelOrderCommand, CancelOrderResult> {
  private readonly cancelSql: string;

  constructor(
    private readonly transactions: TransactionRunner,
    private readonly orders: OrderRepository,
    @Inject(CANCELLATION_SAGA) private readonly saga: CancellationSagaRunner,
    @Inject(MODULE_DATA_SOURCE) private readonly db: DataSource,
  ) {
    this.cancelSql = `WITH current AS (
           SELECT status, failure_reason, cancel_request_key FROM orders.orders WHERE id = $1::uuid
         ), cancelling AS (
           UPDATE orders.orders SET status = 'CANCELLING', cancel_request_key = $3, updated_at = now()
            WHERE id = $1::uuid AND status = 'CONFIRMED'
           RETURNING id
         ), ${saga.store.startSql({ key: 'cancelling.id::text', deadlineMs: 'NULL::int', traceContext: '$2::jsonb', leaseMs: 'NULL::int' }, 'FROM cancelling')}
         SELECT (SELECT count(*) FROM cancelling)::int AS started, c.status, c.failure_reason,
                (c.cancel_request_key IS NOT NULL AND c.cancel_request_key = $3) AS same_request
           FROM (SELECT 1) AS one LEFT JOIN current c ON true`;
  }

  async execute(command: CancelOrderCommand): Promise<CancelOrderResult> {
    const { orderId } = command;
    if (!UUID.test(orderId)) throw orderNotFound(orderId);
    const [row] = await this.transactions.statement<{
      started: number;
      status: OrderStatus | null;
      failure_reason: FailureReason | null;
      same_request: boolean | null;
    }>('cancel-order', this.cancelSql, [orderId, JSON.stringify(currentTraceHeaders()), command.requestKey ?? null]);
    if (row.started > 0) {
      this.saga.wake();
      await this.endDelivery(orderId);
      return { orderId, status: 'CANCELLING', started: true };
    }
    if (row.status === null) throw orderNotFound(orderId);
    // A remote caller's retry of the request that started it (its first answer was lost): answered as that request was.
    if (row.same_request === true) return { orderId, status: row.status, started: true };
    if (row.status === 'DELIVERED') throw new ModuleError('CONFLICT', `order ${orderId} is DELIVERED and cannot be cancelled`, 'orders');
    if (row.status === 'CANCELLING' && isDeliveryFailure(row.failure_reason)) {
      throw new ModuleError('CONFLICT', `order ${orderId} is being cancelled by its delivery (${row.failure_reason})`, 'orders');
    }
    // CONFIRMED as this statement saw it, yet not moved: a concurrent request started the cancellation.
    const now = row.status === 'CONFIRMED' ? await this.orders.findView(orderId) : { status: row.status, failureReason: row.failure_reason };
    const status = now?.status ?? 'CANCELLING';
    if (status === 'PENDING') throw new ModuleError('CONFLICT', `order ${orderId} is PENDING: its checkout is still running`, 'orders');
    if (status === 'DELIVERED') throw new ModuleError('CONFLICT', `order ${orderId} is DELIVERED and cannot be cancelled`, 'orders');
    if (status === 'CANCELLED' && now?.failureReason !== 'CANCELLED_BY_CUSTOMER') {
      throw new ModuleError('CONFLICT', `order ${orderId} was cancelled by its checkout (${now?.failureReason}) and cannot be cancelled`, 'orders');
    }
    return { orderId, status, started: false };
  }

  /**
   * Ends the wait of the order's delivery (a signal it awaits; recorded even if
   * the delivery has not begun yet, which then ends as it begins). Not in the
   * cancellation's statement: if this is lost, the delivery still does
   * nothing, only later (at its deadline it finds the order is not its own to
   * undo, ADR 33).
   */
  private async endDelivery(orderId: string): Promise<void> {
    try {
      await recordSignal(this.db, 'orders', { saga: 'delivery', key: orderId, name: CANCELLED_BY_CUSTOMER, id: `${orderId}:cancelled-by-customer` });
    } catch (error) {
      new Logger('orders.cancel-order').warn({ msg: `the delivery's wait ends at its deadline instead: ${(error as Error).message}`, orderId });
    }
  }
}

function isDeliveryFailure(reason: FailureReason | null): boolean {
  return (DELIVERY_FAILURES as readonly string[]).includes(reason ?? '');
}
