import { Injectable } from '@nestjs/common';
import type { ContractHandler } from '../../../platform/index.js';
import type { ChargePaymentCommand } from '../contract/charge-payment.command.js';
import type { FindPaymentsQuery } from '../contract/find-payments.query.js';
import type { GetPaymentQuery } from '../contract/get-payment.query.js';
import type { PaymentView } from '../contract/payment.view.js';
import type { PaymentsContract } from '../contract/payments.contract.js';
import type { RefundPaymentCommand } from '../contract/refund-payment.command.js';
import { ChargePaymentHandler } from './charge-payment/charge-payment.handler.js';
import { FindPaymentsHandler } from './find-payments/find-payments.handler.js';
import { GetPaymentHandler } from './get-payment/get-payment.handler.js';
import { RefundPaymentHandler } from './refund-payment/refund-payment.handler.js';

/** Payments' contract, implemented by routing each operation to its use case. */
@Injectable()
export class PaymentsHandler implements ContractHandler<typeof PaymentsContract> {
  constructor(
    private readonly chargePaymentHandler: ChargePaymentHandler,
    private readonly refundPaymentHandler: RefundPaymentHandler,
    private readonly getPaymentHandler: GetPaymentHandler,
    private readonly findPaymentsHandler: FindPaymentsHandler,
  ) {}

  chargePayment(command: ChargePaymentCommand): Promise<PaymentView> {
    return this.chargePaymentHandler.execute(command);
  }

  refundPayment(command: RefundPaymentCommand): Promise<PaymentView> {
    return this.refundPaymentHandler.execute(command);
  }

  getPayment(query: GetPaymentQuery): Promise<PaymentView> {
    return this.getPaymentHandler.execute(query);
  }

  findPayments(query: FindPaymentsQuery): Promise<PaymentView[]> {
    return this.findPaymentsHandler.execute(query);
  }
}
