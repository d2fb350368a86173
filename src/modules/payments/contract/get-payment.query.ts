import { IsString } from 'class-validator';

/**
 * One payment by id. Any string is a valid question: an id that cannot
 * exist (not even a UUID) is simply not found.
 */
export class GetPaymentQuery {
  @IsString()
  readonly paymentId: string;
}
