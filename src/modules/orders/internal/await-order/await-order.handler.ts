import { Inject, Injectable } from '@nestjs/common';
import { type IQueryHandler, QueryHandler, SagaEnds } from '../../../../platform/index.js';
import { AwaitOrderQuery } from '../../contract/await-order.query.js';
import type { OrderView } from '../../contract/order.view.js';
import { CHECKOUT_SAGA_ENDS } from '../checkout-saga/order-sagas.providers.js';
import { orderNotFound } from '../get-order/get-order.handler.js';
import { OrderRepository } from '../infrastructure/order.repository.js';

/**
 * Waits for the order's checkout to end (ADR 30): the engine wakes it, from
 * this process's runner or another's NOTIFY; meanwhile it holds nothing but a
 * timer. Then the order is read as `getOrder` reads it, whatever the wait
 * came to: a wake missed (a LISTEN connection lost) costs time, never a wrong answer.
 */
@Injectable()
@QueryHandler(AwaitOrderQuery)
export class AwaitOrderHandler implements IQueryHandler<AwaitOrderQuery, OrderView> {
  constructor(
    @Inject(CHECKOUT_SAGA_ENDS) private readonly ends: SagaEnds,
    private readonly orders: OrderRepository,
  ) {}

  async execute(query: AwaitOrderQuery): Promise<OrderView> {
    if ((await this.ends.waitFor(query.orderId, query.waitMs)) === 'UNKNOWN') throw orderNotFound(query.orderId);
    const order = await this.orders.findView(query.orderId);
    if (!order) throw orderNotFound(query.orderId);
    return order;
  }
}
