import { ApiProperty } from '@nestjs/swagger';

export type CheckoutStep =
  | 'CHARGE_PAYMENT'
  | 'RESERVE_STOCK'
  | 'SCHEDULE_SHIPMENT'
  | 'REFUND_PAYMENT'
  | 'RELEASE_STOCK'
  | 'CANCEL_SHIPMENT'
  | 'AWAIT_DELIVERY'
  | 'COMMIT_STOCK'
  | 'REQUEST_REVIEW';

export type CheckoutStepStatus = 'STARTED' | 'SUCCEEDED' | 'FAILED';

/** One entry of an order's saga log (`GET /orders/:id/saga`): its checkout's, then its delivery's and its cancellation's. */
export class SagaStepView {
  readonly step: CheckoutStep;
  readonly status: CheckoutStepStatus;
  @ApiProperty({ type: 'string', format: 'date-time' })
  readonly at: string;
}
