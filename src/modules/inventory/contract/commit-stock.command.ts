import { IsUUID } from 'class-validator';

/**
 * Turns an order's reservation into a sale, once the parcel is delivered: onHand
 * and reserved of each line both go down by its quantity, and the reservation is
 * COMMITTED. Idempotent by orderId: COMMITTED is answered unchanged. A reservation
 * that holds nothing to sell (RELEASED, REJECTED) is refused with CONFLICT, changing
 * nothing: its stock was given back or never held, and a sale of it would take stock
 * other orders hold. An order with no reservation is NOT_FOUND, and nothing is recorded.
 * A release or reservation after a commit answers COMMITTED and changes nothing.
 */
export class CommitStockCommand {
  @IsUUID()
  readonly orderId: string;
}
