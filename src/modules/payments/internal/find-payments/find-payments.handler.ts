import { Inject, Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { type DataSource, In, Not } from 'typeorm';
import { type IQueryHandler, MODULE_DATA_SOURCE, QueryHandler } from '../../../../platform/index.js';
import { FindPaymentsQuery } from '../../contract/find-payments.query.js';
import type { PaymentStatus, PaymentView } from '../../contract/payment.view.js';
import { PaymentEntity } from '../infrastructure/payment.entity.js';
import { toPaymentView } from '../infrastructure/payment.mapper.js';

@Injectable()
@QueryHandler(FindPaymentsQuery)
export class FindPaymentsHandler implements IQueryHandler<FindPaymentsQuery, PaymentView[]> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(query: FindPaymentsQuery): Promise<PaymentView[]> {
    // A malformed order id cannot match any row; asking Postgres would only raise a cast error.
    if (!isUUID(query.orderId, 'loose')) return [];
    const payments = await this.db.getRepository(PaymentEntity).find({
      // A VOIDED row is no payment (it only holds the order's place), nor is an intent (AUTHORIZING).
      where: { orderId: query.orderId, status: Not(In(['VOIDED', 'AUTHORIZING'])) as never },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    return payments.map((payment) => toPaymentView({ ...payment, status: payment.status as PaymentStatus }));
  }
}
