import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { MODULE_DATA_SOURCE } from '../../../../platform/database/module-databases.js';
import { ModuleTransactions } from '../../../../platform/messaging/module-transactions.js';
import type { ChargePaymentCommand } from '../../contract/charge-payment.command.js';
import type { PaymentView } from '../../contract/payment.view.js';
import { paymentRecordOf } from '../infrastructure/payment-records.js';
import { PAYMENT_COLUMNS, type PaymentRow, rowToPaymentView } from '../infrastructure/payment.mapper.js';
import { orderVoided } from '../payments.errors.js';
import { authorize } from './simulated-provider.js';

/**
 * The order's one row, unless it has one already. A concurrent charge or refund
 * of the same order waits here on UNIQUE (order_id) until the other commits.
 */
const CHARGE = `
  INSERT INTO payments.payments (order_id, amount_cents, token, status) VALUES ($1, $2, $3, $4)
  ON CONFLICT (order_id) DO NOTHING
  RETURNING ${PAYMENT_COLUMNS}`;

@Injectable()
export class ChargePaymentHandler {
  constructor(
    private readonly transactions: ModuleTransactions,
    @Inject(MODULE_DATA_SOURCE) private readonly db: DataSource,
  ) {}

  async execute(command: ChargePaymentCommand): Promise<PaymentView> {
    const status = authorize(command.paymentToken);
    const [inserted] = await this.transactions.statement<PaymentRow>('charge-payment', CHARGE, [
      command.orderId,
      command.amountCents,
      command.paymentToken,
      status,
    ]);
    // Taken: by an earlier charge (this is a retry: the same answer), or by a
    // refund that came first and voided the order (this charge is a late one and takes nothing).
    const record = inserted ?? (await paymentRecordOf(this.db, command.orderId));
    if (record.status === 'VOIDED') throw orderVoided(command.orderId);
    return rowToPaymentView({ ...record, status: record.status });
  }
}
