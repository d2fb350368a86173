import { ApiProperty } from '@nestjs/swagger';

export type PaymentStatus = 'CAPTURED' | 'REFUNDED' | 'DECLINED';

/** A payment as Payments shows it. Timestamps are ISO-8601 strings, the same on the wire and in process. */
export class PaymentView {
  @ApiProperty({ type: 'string', format: 'uuid' })
  readonly paymentId: string;
  @ApiProperty({ type: 'string', format: 'uuid' })
  readonly orderId: string;
  @ApiProperty({ type: 'integer', minimum: 0 })
  readonly amountCents: number;
  readonly status: PaymentStatus;
  @ApiProperty({ type: 'string', format: 'date-time' })
  readonly createdAt: string;
  @ApiProperty({ type: 'string', format: 'date-time' })
  readonly updatedAt: string;
}
