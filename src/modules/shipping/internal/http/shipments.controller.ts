import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { answerPage, ApiPage } from '../../../../platform/index.js';
import { FindShipmentsQuery } from '../../contract/find-shipments.query.js';
import { ShipmentView } from '../../contract/shipment.view.js';
import { InjectShipping, type Shipping } from '../../contract/shipping.contract.js';

/**
 * Shipping's public HTTP routes: read-only, since only the checkout saga
 * schedules and cancels. Served by any gateway process, so it only speaks to the contract.
 */
@Controller('shipments')
export class ShipmentsController {
  constructor(@InjectShipping() private readonly shipping: Shipping) {}

  @Get()
  @ApiPage(ShipmentView)
  async find(@Query() query: FindShipmentsQuery, @Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<ShipmentView[]> {
    return answerPage(request, response, await this.shipping.findShipments(query));
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<ShipmentView> {
    return this.shipping.getShipment({ shipmentId: id });
  }
}
