import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { MODULE_DATA_SOURCE } from '../../../../platform/database/module-databases.js';
import type { ChargePaymentCommand } from '../../contract/charge-payment.command.js';
import type { PaymentView } from '../../contract/payment.view.js';
import { PaymentEntity } from '../infrastructure/payment.entity.js';
import { type PaymentRow, rowToPaymentView, toPaymentView } from '../infrastructure/payment.mapper.js';
import { authorize } from './simulated-provider.js';

@Injectable()
export class ChargePaymentHandler {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(command: ChargePaymentCommand): Promise<PaymentView> {
    const status = authorize(command.paymentToken);
    // The unique order_id decides which of several concurrent charges wins;
    // the others insert nothing and answer the winner's payment.
    const inserted = await this.db
      .createQueryBuilder()
      .insert()
      .into(PaymentEntity)
      .values({ orderId: command.orderId, amountCents: command.amountCents, token: command.paymentToken, status })
      .orIgnore()
      .returning('*')
      .execute();
    const [row] = inserted.raw as PaymentRow[];
    if (row) return rowToPaymentView(row);
    // Payments are never deleted, so the conflicting row is committed and visible to this new statement.
    const existing = await this.db.getRepository(PaymentEntity).findOneByOrFail({ orderId: command.orderId });
    return toPaymentView(existing);
  }
}
