import { IsString } from 'class-validator';

/**
 * The payments of one order (at most one today; a list so that the answer's
 * shape survives partial captures or retries with a new payment). Any string
 * is a valid question: an order id that cannot exist finds nothing.
 */
export class FindPaymentsQuery {
  @IsString()
  readonly orderId: string;
}
