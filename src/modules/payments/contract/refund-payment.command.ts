import { IsUUID } from 'class-validator';

/**
 * Refunds an order's captured payment, at most once: a refunded payment is
 * answered unchanged, and so is a declined one (nothing was taken). Answers
 * NOT_FOUND when the order was never charged.
 */
export class RefundPaymentCommand {
  @IsUUID()
  readonly orderId: string;
}
