import type { OrderStatus } from './order.view.js';

export interface PlaceOrderResult {
  readonly orderId: string;
  readonly status: OrderStatus;
  /** False when an idempotency key matched an order placed earlier. */
  readonly created: boolean;
}
