import { Inject } from '@nestjs/common';
import { command, type ContractClient, defineContract, type Page, query } from '../../../platform/contracts/index.js';
import { ChargePaymentCommand } from './charge-payment.command.js';
import { FindPaymentsQuery } from './find-payments.query.js';
import { GetPaymentQuery } from './get-payment.query.js';
import type { PaymentView } from './payment.view.js';
import { RefundPaymentCommand } from './refund-payment.command.js';

export const PaymentsContract = defineContract('payments', {
  // Both commands are keyed by orderId, so the checkout saga may retry them after a timeout.
  chargePayment: command<ChargePaymentCommand, PaymentView>(ChargePaymentCommand, { idempotent: true }),
  refundPayment: command<RefundPaymentCommand, PaymentView>(RefundPaymentCommand, { idempotent: true }),
  getPayment: query<GetPaymentQuery, PaymentView>(GetPaymentQuery),
  findPayments: query<FindPaymentsQuery, Page<PaymentView>>(FindPaymentsQuery),
});

/** What other modules and the gateway hold to talk to Payments, wherever it runs. */
export type Payments = ContractClient<typeof PaymentsContract>;

/** Parameter decorator: `constructor(@InjectPayments() payments: Payments)`. */
export const InjectPayments = (): ParameterDecorator => Inject(PaymentsContract.client);
