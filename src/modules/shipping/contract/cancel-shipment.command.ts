import { IsUUID } from 'class-validator';

/**
 * Cancels an order's shipment; a cancelled one is answered unchanged. Answers
 * NOT_FOUND when none was scheduled, and then also voids the order: a schedule
 * for it that arrives later (a call its caller stopped waiting for) is refused
 * with CONFLICT and schedules nothing. Schedule and cancel of one order are
 * serialised, so a cancel either finds the shipment or voids it.
 */
export class CancelShipmentCommand {
  @IsUUID()
  readonly orderId: string;
}
