import { Injectable } from '@nestjs/common';
import type { ContractHandler } from '../../../platform/index.js';
import type { CancelShipmentCommand } from '../contract/cancel-shipment.command.js';
import type { FindShipmentsQuery } from '../contract/find-shipments.query.js';
import type { GetShipmentQuery } from '../contract/get-shipment.query.js';
import type { ScheduleShipmentCommand } from '../contract/schedule-shipment.command.js';
import type { ShipmentView } from '../contract/shipment.view.js';
import type { ShippingContract } from '../contract/shipping.contract.js';
import { CancelShipmentHandler } from './cancel-shipment/cancel-shipment.handler.js';
import { FindShipmentsHandler } from './find-shipments/find-shipments.handler.js';
import { GetShipmentHandler } from './get-shipment/get-shipment.handler.js';
import { ScheduleShipmentHandler } from './schedule-shipment/schedule-shipment.handler.js';

/** Shipping's contract, implemented by routing each operation to its use case. */
@Injectable()
export class ShippingHandler implements ContractHandler<typeof ShippingContract> {
  constructor(
    private readonly scheduleShipmentHandler: ScheduleShipmentHandler,
    private readonly cancelShipmentHandler: CancelShipmentHandler,
    private readonly getShipmentHandler: GetShipmentHandler,
    private readonly findShipmentsHandler: FindShipmentsHandler,
  ) {}

  scheduleShipment(command: ScheduleShipmentCommand): Promise<ShipmentView> {
    return this.scheduleShipmentHandler.execute(command);
  }

  cancelShipment(command: CancelShipmentCommand): Promise<ShipmentView> {
    return this.cancelShipmentHandler.execute(command);
  }

  getShipment(query: GetShipmentQuery): Promise<ShipmentView> {
    return this.getShipmentHandler.execute(query);
  }

  findShipments(query: FindShipmentsQuery): Promise<ShipmentView[]> {
    return this.findShipmentsHandler.execute(query);
  }
}
