import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler, currentTraceHeaders, type ICommandHandler, ModuleError, TransactionRunner } from '../../../../platform/index.js';
import { CancelOrderCommand } from '../../contract/cancel-order.command.js';
import type { CancelOrderResult } from '../../contract/cancel-order.result.js';
import type { FailureReason, OrderStatus } from '../../contract/order.view.js';
import { CANCELLATION_SAGA, type CancellationSagaRunner } from '../checkout-saga/order-sagas.providers.js';
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
  ) {
    this.cancelSql = `WITH current AS (
           SELECT status, failure_reason FROM orders.orders WHERE id = $1::uuid
         ), cancelling AS (
           UPDATE orders.orders SET status = 'CANCELLING', updated_at = now()
            WHERE id = $1::uuid AND status = 'CONFIRMED'
           RETURNING id
         ), ${saga.store.startSql({ key: 'cancelling.id::text', deadlineMs: 'NULL::int', traceContext: '$2::jsonb', leaseMs: 'NULL::int' }, 'FROM cancelling')}
         SELECT (SELECT count(*) FROM cancelling)::int AS started, c.status, c.failure_reason
           FROM (SELECT 1) AS one LEFT JOIN current c ON true`;
  }

  async execute(command: CancelOrderCommand): Promise<CancelOrderResult> {
    const { orderId } = command;
    if (!UUID.test(orderId)) throw orderNotFound(orderId);
    const [row] = await this.transactions.statement<{ started: number; status: OrderStatus | null; failure_reason: FailureReason | null }>(
      'cancel-order',
      this.cancelSql,
      [orderId, JSON.stringify(currentTraceHeaders())],
    );
    if (row.started > 0) {
      this.saga.wake();
      return { orderId, status: 'CANCELLING', started: true };
    }
    if (row.status === null) throw orderNotFound(orderId);
    // CONFIRMED as this statement saw it, yet not moved: a concurrent request started the cancellation.
    const now = row.status === 'CONFIRMED' ? await this.orders.findView(orderId) : { status: row.status, failureReason: row.failure_reason };
    const status = now?.status ?? 'CANCELLING';
    if (status === 'PENDING') throw new ModuleError('CONFLICT', `order ${orderId} is PENDING: its checkout is still running`, 'orders');
    if (status === 'CANCELLED' && now?.failureReason !== 'CANCELLED_BY_CUSTOMER') {
      throw new ModuleError('CONFLICT', `order ${orderId} was cancelled by its checkout (${now?.failureReason}) and cannot be cancelled`, 'orders');
    }
    return { orderId, status, started: false };
  }
}
