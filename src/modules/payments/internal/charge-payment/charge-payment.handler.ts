import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CommandHandler, type ICommandHandler, MODULE_DATA_SOURCE, TransactionRunner } from '../../../../platform/index.js';
import { ChargePaymentCommand } from '../../contract/charge-payment.command.js';
import type { PaymentView } from '../../contract/payment.view.js';
import { paymentRecordOf } from '../infrastructure/payment-records.js';
import { PAYMENT_COLUMNS, type PaymentRow, rowToPaymentView } from '../infrastructure/payment.mapper.js';
import { orderVoided } from '../payments.errors.js';
import { SimulatedPaymentProvider } from './simulated-provider.js';

/**
 * The intent: the order's one row, AUTHORIZING, unless it has one already. A
 * concurrent charge or refund of the same order waits here on UNIQUE (order_id)
 * until the other commits. Nothing is asked of the provider before it holds.
 */
const INTEND = `
  INSERT INTO payments.payments (order_id, amount_cents, token, status) VALUES ($1, $2, $3, 'AUTHORIZING')
  ON CONFLICT (order_id) DO NOTHING
  RETURNING ${PAYMENT_COLUMNS}`;

/** The provider's answer, recorded only on the intent: a refund may have voided it meanwhile. */
const RECORD = `
  UPDATE payments.payments SET status = $2, updated_at = now() WHERE order_id = $1 AND status = 'AUTHORIZING'
  RETURNING ${PAYMENT_COLUMNS}`;

/**
 * Intent, provider, outcome, in that order, as a real provider requires: a
 * charge arriving after its order was refunded finds the row VOIDED and never
 * reaches the provider; a refund arriving while the provider answers voids the
 * intent, and the charge then gives back what the provider took.
 */
@Injectable()
@CommandHandler(ChargePaymentCommand)
export class ChargePaymentHandler implements ICommandHandler<ChargePaymentCommand, PaymentView> {
  constructor(
    private readonly transactions: TransactionRunner,
    @Inject(MODULE_DATA_SOURCE) private readonly db: DataSource,
    private readonly provider: SimulatedPaymentProvider,
  ) {}

  async execute(command: ChargePaymentCommand): Promise<PaymentView> {
    const { orderId } = command;
    const [intended] = await this.transactions.statement<PaymentRow>('intend-payment', INTEND, [orderId, command.amountCents, command.paymentToken]);
    // Taken: by a refund that came first (a late charge: it takes nothing), by an earlier
    // charge that finished (a retry: the same answer), or by one that never recorded its outcome.
    const record = intended ?? (await paymentRecordOf(this.db, orderId));
    if (record.status === 'VOIDED') throw orderVoided(orderId);
    if (record.status !== 'AUTHORIZING') return rowToPaymentView({ ...record, status: record.status });
    // Idempotent by order id at the provider: an intent left by a crash is asked again, not charged twice.
    const outcome = await this.provider.capture(orderId, command.amountCents, command.paymentToken);
    const [recorded] = await this.transactions.statement<PaymentRow>('record-payment', RECORD, [orderId, outcome]);
    if (recorded) return rowToPaymentView({ ...recorded, status: outcome });
    const now = await paymentRecordOf(this.db, orderId);
    if (now.status === 'VOIDED') {
      // Refunded while the provider answered: what it took goes back.
      await this.provider.refund(orderId);
      throw orderVoided(orderId);
    }
    return rowToPaymentView({ ...now, status: now.status as Exclude<typeof now.status, 'VOIDED' | 'AUTHORIZING'> });
  }
}
