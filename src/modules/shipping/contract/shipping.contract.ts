import { Inject } from '@nestjs/common';
import { command, type ContractClient, defineContract, type Page, query } from '../../../platform/contracts/index.js';
import { CancelShipmentCommand } from './cancel-shipment.command.js';
import { FindShipmentsQuery } from './find-shipments.query.js';
import { GetShipmentQuery } from './get-shipment.query.js';
import { ReceiveCarrierEventCommand } from './receive-carrier-event.command.js';
import { ScheduleShipmentCommand } from './schedule-shipment.command.js';
import type { ShipmentView } from './shipment.view.js';

export const ShippingContract = defineContract('shipping', {
  // Both commands are keyed by orderId, so the checkout saga may retry them after a timeout.
  scheduleShipment: command<ScheduleShipmentCommand, ShipmentView>(ScheduleShipmentCommand, { idempotent: true }),
  cancelShipment: command<CancelShipmentCommand, ShipmentView>(CancelShipmentCommand, { idempotent: true }),
  getShipment: query<GetShipmentQuery, ShipmentView>(GetShipmentQuery),
  findShipments: query<FindShipmentsQuery, Page<ShipmentView>>(FindShipmentsQuery),
  // A carrier event applies once whatever the number of deliveries: a retry after a timeout is safe.
  receiveCarrierEvent: command<ReceiveCarrierEventCommand, void>(ReceiveCarrierEventCommand, { idempotent: true }),
});

/** What other modules and the gateway hold to talk to Shipping, wherever it runs. */
export type Shipping = ContractClient<typeof ShippingContract>;

/** Parameter decorator: `constructor(@InjectShipping() shipping: Shipping)`. */
export const InjectShipping = (): ParameterDecorator => Inject(ShippingContract.client);
