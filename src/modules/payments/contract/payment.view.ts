export type PaymentStatus = 'CAPTURED' | 'REFUNDED' | 'DECLINED';

/** A payment as Payments shows it. Timestamps are ISO-8601 strings, the same on the wire and in process. */
export class PaymentView {
  readonly paymentId: string;
  readonly orderId: string;
  readonly amountCents: number;
  readonly status: PaymentStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
}
