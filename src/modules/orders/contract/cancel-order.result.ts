import type { OrderStatus } from './order.view.js';

export interface CancelOrderResult {
  readonly orderId: string;
  readonly status: OrderStatus;
  /** True when this request started the cancellation (202); false for a repeat (200). */
  readonly started: boolean;
}
