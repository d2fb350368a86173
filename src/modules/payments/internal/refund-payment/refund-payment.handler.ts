import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { MODULE_DATA_SOURCE } from '../../../../platform/database/module-databases.js';
import type { PaymentView } from '../../contract/payment.view.js';
import type { RefundPaymentCommand } from '../../contract/refund-payment.command.js';
import { PaymentEntity } from '../infrastructure/payment.entity.js';
import { type PaymentRow, rowToPaymentView, toPaymentView } from '../infrastructure/payment.mapper.js';
import { orderNotCharged } from '../payments.errors.js';

@Injectable()
export class RefundPaymentHandler {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(command: RefundPaymentCommand): Promise<PaymentView> {
    // Conditional on CAPTURED in one statement: of any number of concurrent
    // refunds exactly one changes the row, so money goes back at most once.
    const result = await this.db
      .createQueryBuilder()
      .update(PaymentEntity)
      .set({ status: 'REFUNDED', updatedAt: () => 'now()' })
      .where('order_id = :orderId', { orderId: command.orderId })
      .andWhere('status = :captured', { captured: 'CAPTURED' })
      .returning('*')
      .execute();
    const [row] = result.raw as PaymentRow[];
    if (row) return rowToPaymentView(row);
    // Already refunded, or declined (nothing was taken): either way the answer is the payment as it stands.
    const payment = await this.db.getRepository(PaymentEntity).findOneBy({ orderId: command.orderId });
    if (!payment) throw orderNotCharged(command.orderId);
    return toPaymentView(payment);
  }
}
