import { Inject, Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { DataSource } from 'typeorm';
import { type IQueryHandler, MODULE_DATA_SOURCE, QueryHandler } from '../../../../platform/index.js';
import { GetShipmentQuery } from '../../contract/get-shipment.query.js';
import type { ShipmentView } from '../../contract/shipment.view.js';
import { ShipmentEntity } from '../infrastructure/shipment.entity.js';
import { toShipmentView } from '../infrastructure/shipment.mapper.js';
import { shipmentNotFound } from '../shipping.errors.js';

@Injectable()
@QueryHandler(GetShipmentQuery)
export class GetShipmentHandler implements IQueryHandler<GetShipmentQuery, ShipmentView> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(query: GetShipmentQuery): Promise<ShipmentView> {
    // Postgres would reject a malformed uuid with an error; no such shipment can exist, so say so.
    if (!isUUID(query.shipmentId, 'loose')) throw shipmentNotFound(query.shipmentId);
    const shipment = await this.db.getRepository(ShipmentEntity).findOneBy({ id: query.shipmentId });
    // A VOIDED row is no shipment: it only holds the order's place.
    if (!shipment || shipment.status === 'VOIDED') throw shipmentNotFound(query.shipmentId);
    return toShipmentView(shipment);
  }
}
