import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { MODULE_DATA_SOURCE, queryPrepared } from '../../../../platform/index.js';
import type { OrderView } from '../../contract/order.view.js';
import { OrderEntity } from './order.entity.js';
import { type OrderViewRow, rowToOrderView } from './order.mapper.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class OrderRepository {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  /**
   * An order with its lines, as its view; undefined for an unknown id, including one that is not a uuid.
   * One query with the lines aggregated, rather than TypeORM's two for a relation: clients poll this.
   */
  async findView(orderId: string): Promise<OrderView | undefined> {
    if (!UUID.test(orderId)) return undefined;
    const [row] = await queryPrepared<OrderViewRow>(
      this.db,
      'orders.order-view',
      `SELECT o.id, o.status, o.customer_id, o.total_cents, o.payment_id, o.shipment_id, o.failure_reason, o.created_at, o.updated_at,
              (SELECT json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents) ORDER BY l.line_no)
                 FROM orders.order_lines l WHERE l.order_id = o.id) AS items
         FROM orders.orders o WHERE o.id = $1`,
      [orderId],
    );
    return row && rowToOrderView(row);
  }

  async exists(orderId: string): Promise<boolean> {
    return UUID.test(orderId) && this.db.getRepository(OrderEntity).existsBy({ id: orderId });
  }

  async findByIdempotencyKey(key: string): Promise<OrderEntity | undefined> {
    return (await this.db.getRepository(OrderEntity).findOneBy({ idempotencyKey: key })) ?? undefined;
  }
}
