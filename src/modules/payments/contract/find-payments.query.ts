import { IsString } from 'class-validator';
import { PageQuery } from '../../../platform/contracts/index.js';

/**
 * The payments of one order (at most one today; a list so that the answer's
 * shape survives partial captures or retries with a new payment), a page at a
 * time like every list (`limit`, `after`). Any string is a valid question: an
 * order id that cannot exist finds nothing.
 */
export class FindPaymentsQuery extends PageQuery {
  @IsString()
  readonly orderId: string;
}
