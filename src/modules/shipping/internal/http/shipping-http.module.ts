import { Module } from '@nestjs/common';
import { CarrierEventsController } from './carrier-events.controller.js';
import { ShipmentsController } from './shipments.controller.js';

@Module({ controllers: [ShipmentsController, CarrierEventsController] })
export class ShippingHttpModule {}
