import { IsString, Length } from 'class-validator';

/**
 * A customer's notifications, oldest first. customerId is 1–100 characters, as
 * in a checkout (`POST /orders`): any other value could not be a customer's, so
 * it is refused (400) rather than answered with an empty list; a customer with
 * no notification (or none yet) has `[]`.
 */
export class FindNotificationsQuery {
  @IsString()
  @Length(1, 100)
  readonly customerId: string;
}
