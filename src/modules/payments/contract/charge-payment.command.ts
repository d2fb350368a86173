import { IsInt, IsString, IsUUID, Matches, Max, Min } from 'class-validator';
import { PAYMENT_TOKEN_PATTERN } from './payment-token.js';

/**
 * Charges an order once. A declined token is an answer (status DECLINED), not
 * an error. Charging an order that already has a payment answers that payment
 * unchanged, whatever the amount and token: a retry can never charge twice.
 * Answers CONFLICT, charging nothing, for an order that was voided (refunded
 * before it was ever charged: this charge arrived after its compensation).
 */
export class ChargePaymentCommand {
  @IsUUID()
  readonly orderId: string;

  @IsInt()
  @Min(0)
  // Within Postgres `integer`, so amounts never need a bigint column.
  @Max(2_000_000_000)
  readonly amountCents: number;

  @IsString()
  @Matches(PAYMENT_TOKEN_PATTERN, { message: 'must match tok_ followed by 1-60 characters of a-z, 0-9 and _' })
  readonly paymentToken: string;
}
