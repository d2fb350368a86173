import { defineSaga, type SagaDefinition } from '../../../../platform/index.js';
import type { DataSource } from 'typeorm';
import type { Inventory } from '../../../inventory/index.js';
import type { Payments } from '../../../payments/index.js';
import type { Shipping } from '../../../shipping/index.js';
import { OrderCancelled } from '../../contract/order-events.js';
import type { CheckoutSagaOptions } from './checkout-saga.options.js';
import { undone } from './checkout-saga.js';
import { loadOrderCustomers, type OrderCustomer } from './saga-order.js';

export interface CancellationCollaborators {
  readonly payments: Payments;
  readonly inventory: Inventory;
  readonly shipping: Shipping;
  readonly db: DataSource;
}

/**
 * A customer cancels a CONFIRMED order (docs/api.md): cancel the shipment,
 * release the stock, refund the charge → CANCELLED / CANCELLED_BY_CUSTOMER.
 * No step can be refused and there is no deadline: each is retried until it
 * succeeds, and one that keeps failing is STUCK for an operator.
 */
export function cancellationSaga(
  { payments, inventory, shipping, db }: CancellationCollaborators,
  options: CheckoutSagaOptions,
): SagaDefinition<OrderCustomer> {
  return defineSaga<OrderCustomer>({
    name: 'cancellation',
    version: 1,
    stepTimeoutMs: options.stepTimeoutMs,
    retry: { initialDelayMs: options.retryDelayMs, maxDelayMs: options.maxRetryDelayMs },
    stuckAfterAttempts: options.stuckAfterAttempts,
    load: (orderIds) => loadOrderCustomers(db, orderIds),
    steps: [
      // Each is idempotent by order id: only the saga's end needs a statement of its own.
      { name: 'CANCEL_SHIPMENT', idempotent: true, run: ({ orderId }, { signal }) => undone(() => shipping.cancelShipment({ orderId }, { signal })) },
      { name: 'RELEASE_STOCK', idempotent: true, run: ({ orderId }, { signal }) => undone(() => inventory.releaseStock({ orderId }, { signal })) },
      { name: 'REFUND_PAYMENT', run: ({ orderId }, { signal }) => undone(() => payments.refundPayment({ orderId }, { signal })) },
    ],
    effect: {
      // Only its end changes the order.
      when: (transition) => transition.outcome?.status === 'COMPLETED',
      update: { table: 'orders', set: `status = 'CANCELLED', failure_reason = 'CANCELLED_BY_CUSTOMER', updated_at = now()`, where: 'id = :key::uuid' },
      events: (transition, { key, subject }) => (transition.outcome ? [new OrderCancelled(key, subject.customerId, 'CANCELLED_BY_CUSTOMER')] : []),
    },
  });
}
