import { IsIn, IsInt, IsString, IsUUID, Min } from 'class-validator';
import { IntegrationEvent } from '../../../platform/contracts/index.js';
import type { FailureReason } from './order.view.js';

/** An order was accepted and its checkout saga started. */
@IntegrationEvent({ name: 'orders.OrderPlaced', version: 1, aggregateKey: 'orderId' })
export class OrderPlaced {
  @IsUUID()
  readonly orderId: string;

  @IsString()
  readonly customerId: string;

  @IsInt()
  @Min(0)
  readonly totalCents: number;

  constructor(orderId: string, customerId: string, totalCents: number) {
    this.orderId = orderId;
    this.customerId = customerId;
    this.totalCents = totalCents;
  }
}

/**
 * The checkout saga completed: paid, stock reserved, delivery scheduled.
 * Version 2 adds `customerId` and `totalCents` (v1's fields unchanged), so a
 * subscriber learns whom the order is for without calling Orders.
 */
@IntegrationEvent({ name: 'orders.OrderConfirmed', version: 2, aggregateKey: 'orderId' })
export class OrderConfirmed {
  @IsUUID()
  readonly orderId: string;

  @IsString()
  readonly customerId: string;

  @IsUUID()
  readonly paymentId: string;

  @IsUUID()
  readonly shipmentId: string;

  @IsInt()
  @Min(0)
  readonly totalCents: number;

  constructor(orderId: string, customerId: string, paymentId: string, shipmentId: string, totalCents: number) {
    this.orderId = orderId;
    this.customerId = customerId;
    this.paymentId = paymentId;
    this.shipmentId = shipmentId;
    this.totalCents = totalCents;
  }
}

const FAILURE_REASONS: FailureReason[] = [
  'PAYMENT_DECLINED',
  'OUT_OF_STOCK',
  'SHIPPING_UNAVAILABLE',
  'TIMED_OUT',
  'CANCELLED_BY_CUSTOMER',
  'RETURNED',
  'NOT_DELIVERED',
];

/**
 * The order was cancelled: its checkout saga failed and everything it had
 * done was compensated, or (reason CANCELLED_BY_CUSTOMER) its customer
 * cancelled it once CONFIRMED and the cancellation saga undid it all, or
 * (RETURNED, NOT_DELIVERED) its delivery failed and the delivery workflow did.
 * Version 2 adds `customerId` (v1's fields unchanged).
 */
@IntegrationEvent({ name: 'orders.OrderCancelled', version: 2, aggregateKey: 'orderId' })
export class OrderCancelled {
  @IsUUID()
  readonly orderId: string;

  @IsString()
  readonly customerId: string;

  @IsIn(FAILURE_REASONS)
  readonly reason: FailureReason;

  constructor(orderId: string, customerId: string, reason: FailureReason) {
    this.orderId = orderId;
    this.customerId = customerId;
    this.reason = reason;
  }
}

/**
 * The order was delivered and its review delay has passed: its customer may be
 * asked for a review (store-api.md, "Delivery: a workflow that waits").
 */
@IntegrationEvent({ name: 'orders.ReviewRequested', version: 1, aggregateKey: 'orderId' })
export class ReviewRequested {
  @IsUUID()
  readonly orderId: string;

  @IsString()
  readonly customerId: string;

  constructor(orderId: string, customerId: string) {
    this.orderId = orderId;
    this.customerId = customerId;
  }
}
