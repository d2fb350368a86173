import { Inject, Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { type DataSource, Not } from 'typeorm';
import { type IQueryHandler, MODULE_DATA_SOURCE, QueryHandler } from '../../../../platform/index.js';
import { FindShipmentsQuery } from '../../contract/find-shipments.query.js';
import type { ShipmentView } from '../../contract/shipment.view.js';
import { ShipmentEntity } from '../infrastructure/shipment.entity.js';
import { toShipmentView } from '../infrastructure/shipment.mapper.js';

@Injectable()
@QueryHandler(FindShipmentsQuery)
export class FindShipmentsHandler implements IQueryHandler<FindShipmentsQuery, ShipmentView[]> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(query: FindShipmentsQuery): Promise<ShipmentView[]> {
    // A malformed order id cannot match any row; asking Postgres would only raise a cast error.
    if (!isUUID(query.orderId, 'loose')) return [];
    const shipments = await this.db.getRepository(ShipmentEntity).find({
      // A VOIDED row is no shipment: it only holds the order's place.
      where: { orderId: query.orderId, status: Not('VOIDED' as const) },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    return shipments.map(toShipmentView);
  }
}
