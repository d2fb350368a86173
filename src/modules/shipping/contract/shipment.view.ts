import { ApiProperty } from '@nestjs/swagger';

/** DELIVERED and RETURNED are what the carrier reported (its webhook) of a SCHEDULED shipment. */
export type ShipmentStatus = 'SCHEDULED' | 'CANCELLED' | 'DELIVERED' | 'RETURNED';

export class ShippingAddressView {
  readonly name: string;
  readonly line1: string;
  readonly city: string;
  readonly postalCode: string;
  readonly country: string;
}

/** A shipment as Shipping shows it. `createdAt` is an ISO-8601 string, the same on the wire and in process. */
export class ShipmentView {
  @ApiProperty({ type: 'string', format: 'uuid' })
  readonly shipmentId: string;
  @ApiProperty({ type: 'string', format: 'uuid' })
  readonly orderId: string;
  readonly status: ShipmentStatus;
  readonly address: ShippingAddressView;
  @ApiProperty({ type: 'string', format: 'date-time' })
  readonly createdAt: string;
}
