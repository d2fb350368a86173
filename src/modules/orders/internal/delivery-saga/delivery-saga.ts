import type { DataSource } from 'typeorm';
import { defineSaga, DONE, ModuleError, type SagaDefinition, type Transition } from '../../../../platform/index.js';
import type { Inventory } from '../../../inventory/index.js';
import type { Payments } from '../../../payments/index.js';
import type { Shipping } from '../../../shipping/index.js';
import { OrderCancelled, ReviewRequested } from '../../contract/order-events.js';
import type { FailureReason, OrderStatus } from '../../contract/order.view.js';
import type { CheckoutSagaOptions } from '../checkout-saga/checkout-saga.options.js';
import { undone } from '../checkout-saga/checkout-saga.js';
import { type DeliveryOrder, loadDeliveryOrders, undoneByDelivery } from './delivery-order.js';
import type { DeliveryOptions } from './delivery-saga.options.js';
import { CANCELLED_BY_CUSTOMER, PARCEL_DELIVERED, PARCEL_RETURNED } from './delivery-signals.js';

export interface DeliveryCollaborators {
  readonly payments: Payments;
  readonly inventory: Inventory;
  readonly shipping: Shipping;
  readonly db: DataSource;
}

/**
 * A CONFIRMED order waits for its parcel (store-api.md, "Delivery: a workflow
 * that waits"; ADR 33). Started when the order is confirmed; the carrier's
 * word arrives as Shipping's events (signals by order id).
 * - Delivered: the reservation becomes a sale, the order DELIVERED; after the
 *   review delay the customer is asked for a review, and the workflow ends.
 * - Returned, or nothing before the deadline: the order is undone as a
 *   customer's cancellation undoes it, CANCELLED with RETURNED / NOT_DELIVERED.
 * - The customer cancelled first: the wait ends, and nothing more is done.
 * Every call is idempotent by order id.
 */
export function deliverySaga(
  { payments, inventory, shipping, db }: DeliveryCollaborators,
  options: CheckoutSagaOptions & DeliveryOptions,
): SagaDefinition<DeliveryOrder> {
  return defineSaga<DeliveryOrder>({
    name: 'delivery',
    version: 1,
    stepTimeoutMs: options.stepTimeoutMs,
    retry: { initialDelayMs: options.retryDelayMs, maxDelayMs: options.maxRetryDelayMs },
    stuckAfterAttempts: options.stuckAfterAttempts,
    load: (orderIds) => loadDeliveryOrders(db, orderIds),
    steps: [
      {
        name: 'AWAIT_DELIVERY',
        waitFor: {
          signals: { [PARCEL_DELIVERED]: 'COMMIT_STOCK', [PARCEL_RETURNED]: 'CANCEL_SHIPMENT', [CANCELLED_BY_CUSTOMER]: { fail: 'CANCELLED_BY_CUSTOMER' } },
          deadlineMs: options.deadlineMs,
          timeout: 'CANCEL_SHIPMENT',
        },
      },

      // Delivered.
      {
        name: 'COMMIT_STOCK',
        run: async ({ orderId }, { signal }) => {
          await inventory.commitStock({ orderId }, { signal });
        },
        // Its reservation was released: the customer's cancellation got there first, and has undone the order.
        refusal: (error) => (error instanceof ModuleError && error.code === 'CONFLICT' ? 'CANCELLED_BY_CUSTOMER' : undefined),
      },
      { name: 'REQUEST_REVIEW', sleepMs: options.reviewDelayMs, then: DONE },

      // Returned, or not delivered in time.
      {
        name: 'CANCEL_SHIPMENT',
        idempotent: true,
        run: async ({ orderId }, { signal }) => {
          if (!(await undoneByDelivery(db, orderId))) return { failed: 'CANCELLED_BY_CUSTOMER' };
          await undone(() => shipping.cancelShipment({ orderId }, { signal }));
        },
      },
      { name: 'RELEASE_STOCK', idempotent: true, run: ({ orderId }, { signal }) => undone(() => inventory.releaseStock({ orderId }, { signal })) },
      { name: 'REFUND_PAYMENT', run: ({ orderId }, { signal }) => undone(() => payments.refundPayment({ orderId }, { signal })) },
    ],
    // The order moves with the workflow, in its statements, and only from the status the workflow expects.
    effect: {
      when: (transition) => orderMoveOf(transition) !== undefined,
      update: {
        table: 'orders',
        set: 'status = :to::text, failure_reason = coalesce(:reason::text, failure_reason), updated_at = now()',
        // Undone only by the delivery that took it (its reason on the row): never an order its customer cancelled.
        where: `id = :key::uuid AND status = :from::text AND (:to::text <> 'CANCELLED' OR failure_reason IN ('RETURNED', 'NOT_DELIVERED'))`,
      },
      params: (transition) => {
        const move = orderMoveOf(transition)!;
        return { to: move.to, reason: move.reason ?? null, from: move.from };
      },
      events: (transition, { key, subject, outputs }) => {
        if (transition.outcome?.status !== 'COMPLETED') return [];
        // A review for an order that is DELIVERED (its commit could have lost to a customer's cancellation).
        if (succeeded(transition, 'REQUEST_REVIEW')) return subject.status === 'DELIVERED' ? [new ReviewRequested(key, subject.customerId)] : [];
        return [new OrderCancelled(key, subject.customerId, reasonOf(outputs.AWAIT_DELIVERY))];
      },
    },
  });
}

function succeeded(transition: Transition, step: string): boolean {
  return transition.log.some((entry) => entry.step === step && entry.status === 'SUCCEEDED');
}

/** What the wait ended with, as the order's failure reason when it is undone. */
function reasonOf(ended: string | number | null | undefined): FailureReason {
  return ended === PARCEL_RETURNED ? 'RETURNED' : 'NOT_DELIVERED';
}

/** How a transition moves the order: the wait ended toward undoing it, the stock was sold, or it was undone. */
function orderMoveOf(transition: Transition): { from: OrderStatus; to: OrderStatus; reason?: FailureReason } | undefined {
  if (succeeded(transition, 'AWAIT_DELIVERY') && transition.next === 'CANCEL_SHIPMENT') {
    return { from: 'CONFIRMED', to: 'CANCELLING', reason: reasonOf(transition.output.AWAIT_DELIVERY) };
  }
  if (succeeded(transition, 'COMMIT_STOCK')) return { from: 'CONFIRMED', to: 'DELIVERED' };
  if (succeeded(transition, 'REFUND_PAYMENT') && transition.outcome?.status === 'COMPLETED') return { from: 'CANCELLING', to: 'CANCELLED' };
  return undefined;
}
