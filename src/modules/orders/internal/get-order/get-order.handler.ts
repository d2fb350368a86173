import { Injectable } from '@nestjs/common';
import { type IQueryHandler, ModuleError, QueryHandler } from '../../../../platform/index.js';
import { GetOrderQuery } from '../../contract/get-order.query.js';
import type { OrderView } from '../../contract/order.view.js';
import { OrderRepository } from '../infrastructure/order.repository.js';

export const orderNotFound = (orderId: string) => new ModuleError('NOT_FOUND', `order '${orderId}' does not exist`, 'orders');

@Injectable()
@QueryHandler(GetOrderQuery)
export class GetOrderHandler implements IQueryHandler<GetOrderQuery, OrderView> {
  constructor(private readonly orders: OrderRepository) {}

  async execute(query: GetOrderQuery): Promise<OrderView> {
    const order = await this.orders.findView(query.orderId);
    if (!order) throw orderNotFound(query.orderId);
    return order;
  }
}
