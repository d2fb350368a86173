import { Type } from 'class-transformer';
import { IsObject, IsUUID, ValidateNested } from 'class-validator';
import { ShippingAddress } from './shipping-address.js';

/**
 * Schedules the delivery of an order, once: an order that already has a
 * shipment answers it unchanged. Answers UNPROCESSABLE, storing nothing, for
 * a country Shipping does not serve (checked first, whatever the order's
 * state). Answers CONFLICT, scheduling nothing, for an order that was voided
 * (cancelled before it was ever scheduled: this call arrived after its compensation).
 */
export class ScheduleShipmentCommand {
  @IsUUID()
  readonly orderId: string;

  // IsObject: ValidateNested alone would accept an array of addresses.
  @IsObject()
  @ValidateNested()
  @Type(() => ShippingAddress)
  readonly address: ShippingAddress;
}
