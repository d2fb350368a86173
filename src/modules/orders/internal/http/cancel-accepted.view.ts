import { ApiProperty } from '@nestjs/swagger';
import type { OrderStatus } from '../../contract/order.view.js';

/** The answer of `POST /orders/:id/cancel`: the order's id and its status now. */
export class CancelAcceptedView {
  @ApiProperty({ format: 'uuid' })
  readonly orderId: string;

  /** CANCELLING when this request started the cancellation; a repeat answers the current status (CANCELLING or CANCELLED). */
  @ApiProperty({ enum: ['CANCELLING', 'CANCELLED'] })
  readonly status: OrderStatus;
}
