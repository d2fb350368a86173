import { Injectable } from '@nestjs/common';
import { ModuleError } from '../../../../platform/contracts/module.error.js';
import { type Inventory, InjectInventory } from '../../../inventory/index.js';
import { type Payments, InjectPayments } from '../../../payments/index.js';
import { InjectShipping, type Shipping } from '../../../shipping/index.js';
import type { SagaStep, StepOutcome } from './checkout-saga.js';
import type { SagaOrder } from './saga-order.js';

/**
 * Each saga step as a call to another module's contract, and what its answer
 * means for the saga. Every call is idempotent by order id, so a step that is
 * run again (a retry, or a restart after a crash) cannot charge, reserve or
 * refund twice. Anything thrown is a technical failure: the step is retried.
 */
@Injectable()
export class CheckoutSteps {
  constructor(
    @InjectPayments() private readonly payments: Payments,
    @InjectInventory() private readonly inventory: Inventory,
    @InjectShipping() private readonly shipping: Shipping,
  ) {}

  async run(step: SagaStep, order: SagaOrder): Promise<StepOutcome> {
    const { orderId } = order;
    switch (step) {
      case 'CHARGE_PAYMENT': {
        const payment = await this.payments.chargePayment({
          orderId,
          amountCents: order.totalCents,
          paymentToken: order.paymentToken,
        });
        if (payment.status === 'CAPTURED') return { kind: 'succeeded', paymentId: payment.paymentId };
        if (payment.status === 'DECLINED') return { kind: 'failed', reason: 'PAYMENT_DECLINED', paymentId: payment.paymentId };
        throw new Error(`payment ${payment.paymentId} is ${payment.status} before the order was confirmed`);
      }
      case 'RESERVE_STOCK': {
        const reservation = await this.inventory.reserveStock({ orderId, lines: [...order.lines] });
        if (reservation.status === 'RESERVED') return { kind: 'succeeded' };
        return { kind: 'failed', reason: 'OUT_OF_STOCK' };
      }
      case 'SCHEDULE_SHIPMENT':
        try {
          const shipment = await this.shipping.scheduleShipment({ orderId, address: order.shippingAddress });
          if (shipment.status === 'SCHEDULED') return { kind: 'succeeded', shipmentId: shipment.shipmentId };
          throw new Error(`shipment ${shipment.shipmentId} is ${shipment.status} before the order was confirmed`);
        } catch (error) {
          if (error instanceof ModuleError && error.code === 'UNPROCESSABLE') return { kind: 'failed', reason: 'SHIPPING_UNAVAILABLE' };
          throw error;
        }
      case 'VOID_SHIPMENT':
        return this.compensate(() => this.shipping.cancelShipment({ orderId }));
      case 'RELEASE_STOCK':
        return this.compensate(() => this.inventory.releaseStock({ orderId }));
      case 'REFUND_PAYMENT':
        return this.compensate(() => this.payments.refundPayment({ orderId }));
    }
  }

  /** A compensation succeeds once its effect holds; "nothing to undo" (NOT_FOUND) holds too. */
  private async compensate(undo: () => Promise<unknown>): Promise<StepOutcome> {
    try {
      await undo();
    } catch (error) {
      if (!(error instanceof ModuleError && error.code === 'NOT_FOUND')) throw error;
    }
    return { kind: 'succeeded' };
  }
}
