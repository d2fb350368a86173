import { IsUUID } from 'class-validator';

/** Cancels an order's shipment; a cancelled one is answered unchanged. NOT_FOUND when none was scheduled. */
export class CancelShipmentCommand {
  @IsUUID()
  readonly orderId: string;
}
