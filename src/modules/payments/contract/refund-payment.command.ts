import { IsUUID } from 'class-validator';

/**
 * Refunds an order's captured payment, at most once: a refunded payment is
 * answered unchanged, and so is a declined one (nothing was taken). Answers
 * NOT_FOUND when the order was never charged, and then also voids the order:
 * a charge for it that arrives later (a call its caller stopped waiting for)
 * is refused with CONFLICT and takes nothing. Charge and refund of one order
 * are serialised, so a refund either finds the charge or voids it.
 */
export class RefundPaymentCommand {
  @IsUUID()
  readonly orderId: string;
}
