import { Inject, Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { DataSource } from 'typeorm';
import { type IQueryHandler, Keyset, MODULE_DATA_SOURCE, type Page, QueryHandler } from '../../../../platform/index.js';
import { FindShipmentsQuery } from '../../contract/find-shipments.query.js';
import type { ShipmentView } from '../../contract/shipment.view.js';
import { ShipmentEntity } from '../infrastructure/shipment.entity.js';
import { toShipmentView } from '../infrastructure/shipment.mapper.js';

/** Oldest first; the id orders shipments made in one microsecond. */
const BY_CREATION = new Keyset('shipping', [
  { column: 'created_at', part: 'timestamp' },
  { column: 'id', part: 'uuid' },
]);

@Injectable()
@QueryHandler(FindShipmentsQuery)
export class FindShipmentsHandler implements IQueryHandler<FindShipmentsQuery, Page<ShipmentView>> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(query: FindShipmentsQuery): Promise<Page<ShipmentView>> {
    const filter = { orderId: query.orderId };
    // The cursor is checked first: a forged one is a 400 whatever the order id.
    const request = BY_CREATION.request(query, filter);
    // A malformed order id cannot match any row; asking Postgres would only raise a cast error.
    if (!isUUID(query.orderId, 'loose')) return { items: [], next: null };
    const shipments = this.db
      .getRepository(ShipmentEntity)
      .createQueryBuilder('s')
      .where('s.order_id = :orderId', { orderId: query.orderId })
      // A VOIDED row is no shipment: it only holds the order's place.
      .andWhere(`s.status <> 'VOIDED'`);
    return BY_CREATION.read(shipments, request, filter, toShipmentView);
  }
}
