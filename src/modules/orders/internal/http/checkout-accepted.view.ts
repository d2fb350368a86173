import { ApiProperty } from '@nestjs/swagger';
import type { OrderStatus } from '../../contract/order.view.js';

/** The answer of `POST /orders`: the order's id and its status now (PENDING when new). */
export class CheckoutAcceptedView {
  @ApiProperty({ format: 'uuid' })
  readonly orderId: string;

  /** PENDING for a new order; a replayed Idempotency-Key answers the order's current status. */
  readonly status: OrderStatus;
}
