import { IsString } from 'class-validator';

/**
 * The shipments of one order (at most one today; a list so that the answer's
 * shape survives split deliveries). Any string is a valid question: an order
 * id that cannot exist finds nothing.
 */
export class FindShipmentsQuery {
  @IsString()
  readonly orderId: string;
}
