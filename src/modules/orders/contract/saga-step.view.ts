import { ApiProperty } from '@nestjs/swagger';

export type CheckoutStep = 'CHARGE_PAYMENT' | 'RESERVE_STOCK' | 'SCHEDULE_SHIPMENT' | 'REFUND_PAYMENT' | 'RELEASE_STOCK';

export type CheckoutStepStatus = 'STARTED' | 'SUCCEEDED' | 'FAILED';

/** One entry of a checkout saga's log (`GET /orders/:id/saga`). */
export class SagaStepView {
  readonly step: CheckoutStep;
  readonly status: CheckoutStepStatus;
  @ApiProperty({ type: 'string', format: 'date-time' })
  readonly at: string;
}
