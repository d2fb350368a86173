import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { type IQueryHandler, MODULE_DATA_SOURCE, QueryHandler } from '../../../../platform/index.js';
import { GetCheckoutLogQuery } from '../../contract/get-checkout-log.query.js';
import type { SagaStepView } from '../../contract/saga-step.view.js';
import { orderNotFound } from '../get-order/get-order.handler.js';
import { OrderRepository } from '../infrastructure/order.repository.js';

@Injectable()
@QueryHandler(GetCheckoutLogQuery)
export class GetCheckoutLogHandler implements IQueryHandler<GetCheckoutLogQuery, SagaStepView[]> {
  constructor(
    @Inject(MODULE_DATA_SOURCE) private readonly db: DataSource,
    private readonly orders: OrderRepository,
  ) {}

  async execute(query: GetCheckoutLogQuery): Promise<SagaStepView[]> {
    if (!(await this.orders.exists(query.orderId))) throw orderNotFound(query.orderId);
    const rows: Array<{ step: SagaStepView['step']; status: SagaStepView['status']; at: Date }> = await this.db.query(
      // The engine's log of every saga of the order: its checkout's entries, then its cancellation's.
      'SELECT step, status, at FROM orders.saga_log WHERE key = $1 ORDER BY id',
      [query.orderId],
    );
    return rows.map((row) => ({ step: row.step, status: row.status, at: row.at.toISOString() }));
  }
}
