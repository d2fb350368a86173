import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { MODULE_DATA_SOURCE } from '../../../../platform/index.js';
import type { GetOrderQuery } from '../../contract/get-order.query.js';
import type { SagaStepView } from '../../contract/saga-step.view.js';
import { orderNotFound } from '../get-order/get-order.handler.js';
import { OrderRepository } from '../infrastructure/order.repository.js';

@Injectable()
export class GetCheckoutLogHandler {
  constructor(
    @Inject(MODULE_DATA_SOURCE) private readonly db: DataSource,
    private readonly orders: OrderRepository,
  ) {}

  async execute(query: GetOrderQuery): Promise<SagaStepView[]> {
    if (!(await this.orders.exists(query.orderId))) throw orderNotFound(query.orderId);
    const rows: Array<{ step: SagaStepView['step']; status: SagaStepView['status']; at: Date }> = await this.db.query(
      // The engine's log of every saga of the order: its checkout's entries, then its cancellation's.
      'SELECT step, status, at FROM orders.saga_log WHERE key = $1 ORDER BY id',
      [query.orderId],
    );
    return rows.map((row) => ({ step: row.step, status: row.status, at: row.at.toISOString() }));
  }
}
