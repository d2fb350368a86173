import { ApiProperty } from '@nestjs/swagger';

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLING' | 'CANCELLED' | 'DELIVERED';

export type FailureReason = 'PAYMENT_DECLINED' | 'OUT_OF_STOCK' | 'SHIPPING_UNAVAILABLE' | 'TIMED_OUT' | 'CANCELLED_BY_CUSTOMER' | 'RETURNED' | 'NOT_DELIVERED';

export class OrderLineView {
  readonly sku: string;
  @ApiProperty({ type: 'integer', minimum: 1 })
  readonly quantity: number;
  @ApiProperty({ type: 'integer', minimum: 0 })
  readonly unitPriceCents: number;
}

/** An order as store-api.md shows it. Timestamps are ISO-8601 strings. */
export class OrderView {
  @ApiProperty({ type: 'string', format: 'uuid' })
  readonly orderId: string;
  readonly status: OrderStatus;
  readonly customerId: string;
  readonly items: OrderLineView[];
  @ApiProperty({ type: 'integer', minimum: 0 })
  readonly totalCents: number;
  @ApiProperty({ type: 'string', format: 'uuid', nullable: true })
  readonly paymentId: string | null;
  @ApiProperty({ type: 'string', format: 'uuid', nullable: true })
  readonly shipmentId: string | null;
  readonly failureReason: FailureReason | null;
  @ApiProperty({ type: 'string', format: 'date-time' })
  readonly createdAt: string;
  @ApiProperty({ type: 'string', format: 'date-time' })
  readonly updatedAt: string;
}
