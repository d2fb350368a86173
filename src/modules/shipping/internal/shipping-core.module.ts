import { Module } from '@nestjs/common';
import { CancelShipmentHandler } from './cancel-shipment/cancel-shipment.handler.js';
import { FindShipmentsHandler } from './find-shipments/find-shipments.handler.js';
import { GetShipmentHandler } from './get-shipment/get-shipment.handler.js';
import { ScheduleShipmentHandler } from './schedule-shipment/schedule-shipment.handler.js';

/** Hosts Shipping's implementation; the platform supplies its DataSource and binds its contract. */
@Module({
  providers: [
    ScheduleShipmentHandler,
    CancelShipmentHandler,
    GetShipmentHandler,
    FindShipmentsHandler,
  ],
})
export class ShippingCoreModule {}
