import { Inject, Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { DataSource } from 'typeorm';
import { type IQueryHandler, MODULE_DATA_SOURCE, QueryHandler } from '../../../../platform/index.js';
import { GetPaymentQuery } from '../../contract/get-payment.query.js';
import type { PaymentView } from '../../contract/payment.view.js';
import { PaymentEntity } from '../infrastructure/payment.entity.js';
import { toPaymentView } from '../infrastructure/payment.mapper.js';
import { paymentNotFound } from '../payments.errors.js';

@Injectable()
@QueryHandler(GetPaymentQuery)
export class GetPaymentHandler implements IQueryHandler<GetPaymentQuery, PaymentView> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(query: GetPaymentQuery): Promise<PaymentView> {
    // Postgres would reject a malformed uuid with an error; no such payment can exist, so say so.
    if (!isUUID(query.paymentId, 'loose')) throw paymentNotFound(query.paymentId);
    const payment = await this.db.getRepository(PaymentEntity).findOneBy({ id: query.paymentId });
    // A VOIDED row is no payment (it only holds the order's place), nor is an intent (AUTHORIZING).
    if (!payment || payment.status === 'VOIDED' || payment.status === 'AUTHORIZING') throw paymentNotFound(query.paymentId);
    return toPaymentView({ ...payment, status: payment.status });
  }
}
