import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CommandHandler, type ICommandHandler, MODULE_DATA_SOURCE, TransactionRunner } from '../../../../platform/index.js';
import type { PaymentView } from '../../contract/payment.view.js';
import { RefundPaymentCommand } from '../../contract/refund-payment.command.js';
import { SimulatedPaymentProvider } from '../charge-payment/simulated-provider.js';
import { paymentRecordOf } from '../infrastructure/payment-records.js';
import { PAYMENT_COLUMNS, type PaymentRow, rowToPaymentView } from '../infrastructure/payment.mapper.js';
import { orderNotCharged } from '../payments.errors.js';

/**
 * One statement, four outcomes:
 * - the order was never charged: its row is taken as VOIDED, so a charge still on its way
 *   (its caller timed out and compensated) finds it and takes nothing;
 * - AUTHORIZING (a charge is asking the provider, or crashed doing so): VOIDED too; that
 *   charge then finds its intent voided and gives back whatever the provider took;
 * - CAPTURED: refunded, conditionally, so money goes back at most once;
 * - anything else (already refunded, declined, voided): left as it is, and read after.
 */
const REFUND = `
  INSERT INTO payments.payments AS p (order_id, amount_cents, token, status) VALUES ($1, 0, NULL, 'VOIDED')
  ON CONFLICT (order_id) DO UPDATE
     SET status = CASE WHEN p.status = 'CAPTURED' THEN 'REFUNDED' ELSE 'VOIDED' END,
         amount_cents = CASE WHEN p.status = 'CAPTURED' THEN p.amount_cents ELSE 0 END,
         token = CASE WHEN p.status = 'CAPTURED' THEN p.token END,
         updated_at = now()
   WHERE p.status IN ('CAPTURED', 'AUTHORIZING')
  RETURNING ${PAYMENT_COLUMNS}`;

@Injectable()
@CommandHandler(RefundPaymentCommand)
export class RefundPaymentHandler implements ICommandHandler<RefundPaymentCommand, PaymentView> {
  constructor(
    private readonly transactions: TransactionRunner,
    @Inject(MODULE_DATA_SOURCE) private readonly db: DataSource,
    private readonly provider: SimulatedPaymentProvider,
  ) {}

  async execute(command: RefundPaymentCommand): Promise<PaymentView> {
    const [changed] = await this.transactions.statement<PaymentRow>('refund-payment', REFUND, [command.orderId]);
    const record = changed ?? (await paymentRecordOf(this.db, command.orderId));
    // After the row, and on every repeat (idempotent at the provider): a crash between the
    // two leaves the step unrecorded, so the saga refunds again and the money does go back.
    if (record.status !== 'DECLINED') await this.provider.refund(command.orderId);
    // The void is committed by now: refusing does not undo it.
    if (record.status === 'VOIDED') throw orderNotCharged(command.orderId);
    return rowToPaymentView({ ...record, status: record.status as Exclude<typeof record.status, 'VOIDED' | 'AUTHORIZING'> });
  }
}
