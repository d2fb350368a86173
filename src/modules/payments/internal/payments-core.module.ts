import { Module } from '@nestjs/common';
import { ChargePaymentHandler } from './charge-payment/charge-payment.handler.js';
import { SimulatedPaymentProvider } from './charge-payment/simulated-provider.js';
import { FindPaymentsHandler } from './find-payments/find-payments.handler.js';
import { GetPaymentHandler } from './get-payment/get-payment.handler.js';
import { RefundPaymentHandler } from './refund-payment/refund-payment.handler.js';

/** Hosts Payments' implementation; the platform supplies its DataSource and binds its contract. */
@Module({
  providers: [SimulatedPaymentProvider, ChargePaymentHandler, RefundPaymentHandler, GetPaymentHandler, FindPaymentsHandler],
})
export class PaymentsCoreModule {}
