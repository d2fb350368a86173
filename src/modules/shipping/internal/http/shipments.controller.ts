import { Controller, Get, Param, Query } from '@nestjs/common';
import { FindShipmentsQuery } from '../../contract/find-shipments.query.js';
import type { ShipmentView } from '../../contract/shipment.view.js';
import { InjectShipping, type Shipping } from '../../contract/shipping.contract.js';

/**
 * Shipping's public HTTP routes: read-only, since only the checkout saga
 * schedules and cancels. Served by any gateway process, so it only speaks to the contract.
 */
@Controller('shipments')
export class ShipmentsController {
  constructor(@InjectShipping() private readonly shipping: Shipping) {}

  @Get()
  find(@Query() query: FindShipmentsQuery): Promise<ShipmentView[]> {
    return this.shipping.findShipments({ orderId: query.orderId });
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<ShipmentView> {
    return this.shipping.getShipment({ shipmentId: id });
  }
}
