import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { MODULE_DATA_SOURCE } from '../../../../platform/database/module-databases.js';
import { OrderEntity } from './order.entity.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class OrderRepository {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  /** An order with its lines; undefined for an unknown id, including one that is not a uuid. */
  async find(orderId: string): Promise<OrderEntity | undefined> {
    if (!UUID.test(orderId)) return undefined;
    const order = await this.db.getRepository(OrderEntity).findOne({ where: { id: orderId }, relations: { lines: true } });
    return order ?? undefined;
  }

  async exists(orderId: string): Promise<boolean> {
    return UUID.test(orderId) && this.db.getRepository(OrderEntity).existsBy({ id: orderId });
  }

  async findByIdempotencyKey(key: string): Promise<OrderEntity | undefined> {
    return (await this.db.getRepository(OrderEntity).findOneBy({ idempotencyKey: key })) ?? undefined;
  }
}
