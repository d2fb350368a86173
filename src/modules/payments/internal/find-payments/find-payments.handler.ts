import { Inject, Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { DataSource } from 'typeorm';
import { type IQueryHandler, Keyset, MODULE_DATA_SOURCE, type Page, QueryHandler } from '../../../../platform/index.js';
import { FindPaymentsQuery } from '../../contract/find-payments.query.js';
import type { PaymentStatus, PaymentView } from '../../contract/payment.view.js';
import { PaymentEntity } from '../infrastructure/payment.entity.js';
import { toPaymentView } from '../infrastructure/payment.mapper.js';

/** Oldest first; the id orders payments made in one microsecond. */
const BY_CREATION = new Keyset('payments', [
  { column: 'created_at', part: 'timestamp' },
  { column: 'id', part: 'uuid' },
]);

@Injectable()
@QueryHandler(FindPaymentsQuery)
export class FindPaymentsHandler implements IQueryHandler<FindPaymentsQuery, Page<PaymentView>> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(query: FindPaymentsQuery): Promise<Page<PaymentView>> {
    const filter = { orderId: query.orderId };
    // The cursor is checked first: a forged one is a 400 whatever the order id.
    const request = BY_CREATION.request(query, filter);
    // A malformed order id cannot match any row; asking Postgres would only raise a cast error.
    if (!isUUID(query.orderId, 'loose')) return { items: [], next: null };
    const payments = this.db
      .getRepository(PaymentEntity)
      .createQueryBuilder('p')
      .where('p.order_id = :orderId', { orderId: query.orderId })
      // A VOIDED row is no payment (it only holds the order's place), nor is an intent (AUTHORIZING).
      .andWhere(`p.status NOT IN ('VOIDED', 'AUTHORIZING')`);
    return BY_CREATION.read(payments, request, filter, (payment) => toPaymentView({ ...payment, status: payment.status as PaymentStatus }));
  }
}
