import { IsISO8601, IsUUID } from 'class-validator';
import { IntegrationEvent } from '../../../platform/contracts/index.js';

/**
 * The carrier reported the shipment delivered (its signed webhook): the order's
 * parcel reached its customer at `at` (ISO 8601, UTC, as the carrier said). Keyed
 * by the order, so a workflow waiting on the order hears it in the order's line.
 */
@IntegrationEvent({ name: 'shipping.ShipmentDelivered', version: 1, aggregateKey: 'orderId' })
export class ShipmentDelivered {
  @IsUUID()
  readonly orderId: string;

  @IsUUID()
  readonly shipmentId: string;

  @IsISO8601({ strict: true })
  readonly at: string;

  constructor(orderId: string, shipmentId: string, at: string) {
    this.orderId = orderId;
    this.shipmentId = shipmentId;
    this.at = at;
  }
}

/** The carrier reported the shipment returned to sender at `at`: the parcel never reached its customer. */
@IntegrationEvent({ name: 'shipping.ShipmentReturned', version: 1, aggregateKey: 'orderId' })
export class ShipmentReturned {
  @IsUUID()
  readonly orderId: string;

  @IsUUID()
  readonly shipmentId: string;

  @IsISO8601({ strict: true })
  readonly at: string;

  constructor(orderId: string, shipmentId: string, at: string) {
    this.orderId = orderId;
    this.shipmentId = shipmentId;
    this.at = at;
  }
}
