import { IsUUID } from 'class-validator';

/**
 * Gives back an order's reserved stock. Idempotent: RESERVED becomes RELEASED
 * once; REJECTED and RELEASED are answered unchanged; an order with no
 * reservation gets a RELEASED record with no lines, so that a reservation
 * arriving late for it (a retried or slow call) reserves nothing.
 */
export class ReleaseStockCommand {
  @IsUUID()
  readonly orderId: string;
}
