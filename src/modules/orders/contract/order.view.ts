export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED';

export type FailureReason = 'PAYMENT_DECLINED' | 'OUT_OF_STOCK' | 'SHIPPING_UNAVAILABLE' | 'TIMED_OUT';

export class OrderLineView {
  readonly sku: string;
  readonly quantity: number;
  readonly unitPriceCents: number;
}

/** An order as store-api.md shows it. Timestamps are ISO-8601 strings. */
export class OrderView {
  readonly orderId: string;
  readonly status: OrderStatus;
  readonly customerId: string;
  readonly items: OrderLineView[];
  readonly totalCents: number;
  readonly paymentId: string | null;
  readonly shipmentId: string | null;
  readonly failureReason: FailureReason | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}
