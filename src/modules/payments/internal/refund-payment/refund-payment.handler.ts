import { Injectable } from '@nestjs/common';
import { ModuleTransactions } from '../../../../platform/messaging/module-transactions.js';
import type { PaymentView } from '../../contract/payment.view.js';
import type { RefundPaymentCommand } from '../../contract/refund-payment.command.js';
import { lockOrder } from '../infrastructure/order-lock.js';
import { PaymentEntity } from '../infrastructure/payment.entity.js';
import { type PaymentRow, rowToPaymentView, toPaymentView } from '../infrastructure/payment.mapper.js';
import { recordVoid } from '../infrastructure/voided-orders.store.js';
import { orderNotCharged } from '../payments.errors.js';

@Injectable()
export class RefundPaymentHandler {
  constructor(private readonly transactions: ModuleTransactions) {}

  async execute(command: RefundPaymentCommand): Promise<PaymentView> {
    const payment = await this.transactions.run(async ({ manager }): Promise<PaymentView | undefined> => {
      // Concurrent charges and refunds of this order queue here.
      await lockOrder(manager, command.orderId);
      // Conditional on CAPTURED: money goes back at most once.
      const result = await manager
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
      const existing = await manager.getRepository(PaymentEntity).findOneBy({ orderId: command.orderId });
      if (existing) return toPaymentView(existing);
      // Never charged, yet compensated: the charge may still be on its way. Void
      // the order so that it finds nothing to do when it arrives.
      await recordVoid(manager, command.orderId);
      return undefined;
    });
    // Thrown after commit: thrown inside, it would roll the void back.
    if (!payment) throw orderNotCharged(command.orderId);
    return payment;
  }
}
