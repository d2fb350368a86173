import { Module } from '@nestjs/common';
import { ModuleSettings } from '../../../platform/index.js';
import { CancelShipmentHandler } from './cancel-shipment/cancel-shipment.handler.js';
import { FindShipmentsHandler } from './find-shipments/find-shipments.handler.js';
import { GetShipmentHandler } from './get-shipment/get-shipment.handler.js';
import { CARRIER_WEBHOOK_SETTINGS, carrierWebhookSettings } from './receive-carrier-event/carrier-webhook.settings.js';
import { ReceiveCarrierEventHandler } from './receive-carrier-event/receive-carrier-event.handler.js';
import { ScheduleShipmentHandler } from './schedule-shipment/schedule-shipment.handler.js';

/** Hosts Shipping's implementation; the platform supplies its DataSource and binds its contract. */
@Module({
  providers: [
    ScheduleShipmentHandler,
    CancelShipmentHandler,
    GetShipmentHandler,
    FindShipmentsHandler,
    ReceiveCarrierEventHandler,
    { provide: CARRIER_WEBHOOK_SETTINGS, inject: [ModuleSettings], useFactory: carrierWebhookSettings },
  ],
})
export class ShippingCoreModule {}
