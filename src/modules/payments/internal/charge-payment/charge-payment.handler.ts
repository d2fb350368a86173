import { Injectable } from '@nestjs/common';
import { ModuleTransactions } from '../../../../platform/messaging/module-transactions.js';
import type { ChargePaymentCommand } from '../../contract/charge-payment.command.js';
import type { PaymentView } from '../../contract/payment.view.js';
import { lockOrder } from '../infrastructure/order-lock.js';
import { PaymentEntity } from '../infrastructure/payment.entity.js';
import { type PaymentRow, rowToPaymentView, toPaymentView } from '../infrastructure/payment.mapper.js';
import { isVoided } from '../infrastructure/voided-orders.store.js';
import { orderVoided } from '../payments.errors.js';
import { authorize } from './simulated-provider.js';

@Injectable()
export class ChargePaymentHandler {
  constructor(private readonly transactions: ModuleTransactions) {}

  async execute(command: ChargePaymentCommand): Promise<PaymentView> {
    const status = authorize(command.paymentToken);
    return this.transactions.run(async ({ manager }) => {
      // Concurrent charges and refunds of this order queue here; each statement
      // below then sees whatever the ones before it committed.
      await lockOrder(manager, command.orderId);
      const existing = await manager.getRepository(PaymentEntity).findOneBy({ orderId: command.orderId });
      if (existing) return toPaymentView(existing);
      // Refunded before it was ever charged: the caller has given up on this
      // order, so this charge is a late one and must take nothing.
      if (await isVoided(manager, command.orderId)) throw orderVoided(command.orderId);
      // The lock makes a conflict impossible; the unique order_id would turn one into an error, never a second charge.
      const inserted = await manager
        .createQueryBuilder()
        .insert()
        .into(PaymentEntity)
        .values({ orderId: command.orderId, amountCents: command.amountCents, token: command.paymentToken, status })
        .returning('*')
        .execute();
      return rowToPaymentView((inserted.raw as PaymentRow[])[0]);
    });
  }
}
