import type { DataSource } from 'typeorm';
import { defineSaga, ModuleError, type SagaDefinition, type Transition } from '../../../../platform/index.js';
import type { Inventory } from '../../../inventory/index.js';
import type { Payments } from '../../../payments/index.js';
import type { Shipping } from '../../../shipping/index.js';
import { OrderCancelled, OrderConfirmed } from '../../contract/order-events.js';
import type { FailureReason } from '../../contract/order.view.js';
import type { CheckoutSagaOptions } from './checkout-saga.options.js';
import { loadSagaOrders, type SagaOrder } from './saga-order.js';

export interface CheckoutCollaborators {
  readonly payments: Payments;
  readonly inventory: Inventory;
  readonly shipping: Shipping;
  readonly db: DataSource;
}

/** A compensation holds once its effect holds; "nothing to undo" (NOT_FOUND) holds too. */
export async function undone(undo: () => Promise<unknown>): Promise<void> {
  try {
    await undo();
  } catch (error) {
    if (!(error instanceof ModuleError && error.code === 'NOT_FOUND')) throw error;
  }
}

/**
 * The checkout (docs/api.md, ADR 6): charge → reserve → schedule → CONFIRMED;
 * a refusal compensates what was done, in reverse; past the deadline (or on
 * an error retrying cannot mend) whatever the current step may still do is
 * undone too: TIMED_OUT. A timed-out schedule is undone by the hidden
 * VOID_SHIPMENT, and only then logged FAILED. Every call is idempotent by
 * order id, so a step run again cannot charge, reserve or refund twice.
 */
export function checkoutSaga({ payments, inventory, shipping, db }: CheckoutCollaborators, options: CheckoutSagaOptions): SagaDefinition<SagaOrder> {
  return defineSaga<SagaOrder>({
    name: 'checkout',
    version: 1,
    deadlineMs: options.deadlineMs,
    abortReason: 'TIMED_OUT' satisfies FailureReason,
    stepTimeoutMs: options.stepTimeoutMs,
    retry: { initialDelayMs: options.retryDelayMs, maxDelayMs: options.maxRetryDelayMs },
    stuckAfterAttempts: options.stuckAfterAttempts,
    load: (orderIds) => loadSagaOrders(db, orderIds),
    steps: [
      {
        name: 'CHARGE_PAYMENT',
        idempotent: true,
        run: async (order, { signal }) => {
          const payment = await payments.chargePayment({ orderId: order.orderId, amountCents: order.totalCents, paymentToken: order.paymentToken }, { signal });
          if (payment.status === 'CAPTURED') return { output: { paymentId: payment.paymentId } };
          if (payment.status === 'DECLINED') return { failed: 'PAYMENT_DECLINED', output: { paymentId: payment.paymentId } };
          throw new Error(`payment ${payment.paymentId} is ${payment.status} before the order was confirmed`);
        },
        undo: { name: 'REFUND_PAYMENT', run: (order, { signal }) => undone(() => payments.refundPayment({ orderId: order.orderId }, { signal })) },
      },
      {
        name: 'RESERVE_STOCK',
        idempotent: true,
        run: async (order, { signal }) => {
          const reservation = await inventory.reserveStock({ orderId: order.orderId, lines: [...order.lines] }, { signal });
          return reservation.status === 'RESERVED' ? {} : { failed: 'OUT_OF_STOCK' };
        },
        undo: { name: 'RELEASE_STOCK', run: (order, { signal }) => undone(() => inventory.releaseStock({ orderId: order.orderId }, { signal })) },
      },
      {
        name: 'SCHEDULE_SHIPMENT',
        run: async (order, { signal }) => {
          const shipment = await shipping.scheduleShipment({ orderId: order.orderId, address: order.shippingAddress }, { signal });
          if (shipment.status === 'SCHEDULED') return { output: { shipmentId: shipment.shipmentId } };
          throw new Error(`shipment ${shipment.shipmentId} is ${shipment.status} before the order was confirmed`);
        },
        refusal: (error) => (error instanceof ModuleError && error.code === 'UNPROCESSABLE' ? 'SHIPPING_UNAVAILABLE' : undefined),
        // A schedule that answers late must never leave a shipment behind: voided before the step is logged FAILED.
        undo: {
          name: 'VOID_SHIPMENT',
          logged: false,
          run: (order, { signal }) => undone(() => shipping.cancelShipment({ orderId: order.orderId }, { signal })),
        },
      },
    ],
    // The order moves with the saga, in the statement that records each transition; only its end publishes.
    effect: {
      update: {
        table: 'orders',
        set: `payment_id = coalesce(:paymentId::uuid, payment_id), shipment_id = coalesce(:shipmentId::uuid, shipment_id),
              status = coalesce(:status, status), failure_reason = coalesce(:failureReason, failure_reason), updated_at = now()`,
        where: 'id = :key::uuid',
      },
      params: (transition) => ({
        paymentId: transition.output.paymentId,
        shipmentId: transition.output.shipmentId,
        status: orderStatusOf(transition),
        failureReason: transition.outcome?.status === 'COMPENSATED' ? transition.outcome.reason : null,
      }),
      events: (transition, { key, subject, outputs }) =>
        transition.outcome?.status === 'COMPLETED'
          ? [
              new OrderConfirmed(
                key,
                subject.customerId,
                // A saga begun before outputs were kept has them only in the order's row.
                String(outputs.paymentId ?? subject.paymentId),
                String(outputs.shipmentId ?? subject.shipmentId),
                subject.totalCents,
              ),
            ]
          : transition.outcome?.status === 'COMPENSATED'
            ? [new OrderCancelled(key, subject.customerId, transition.outcome.reason as FailureReason)]
            : [],
    },
  });
}

function orderStatusOf(transition: Transition): 'CONFIRMED' | 'CANCELLED' | null {
  return transition.outcome?.status === 'COMPLETED' ? 'CONFIRMED' : transition.outcome?.status === 'COMPENSATED' ? 'CANCELLED' : null;
}
