import { IsString, Length } from 'class-validator';
import { PageQuery } from '../../../platform/contracts/index.js';

/**
 * A customer's notifications, oldest first, a page at a time (`limit`,
 * `after`: store-api.md). customerId is 1–100 characters, as in a checkout
 * (`POST /orders`): any other value could not be a customer's, so it is
 * refused (400) rather than answered with an empty list; a customer with no
 * notification (or none yet) has `[]`.
 */
export class FindNotificationsQuery extends PageQuery {
  @IsString()
  @Length(1, 100)
  readonly customerId: string;
}
