import { defineModule, uses } from '../../platform/index.js';
import { PaymentsContract } from './contract/payments.contract.js';
import { PaymentsCoreModule } from './internal/payments-core.module.js';
import { PaymentsHttpModule } from './internal/http/payments-http.module.js';
import { PaymentEntity } from './internal/infrastructure/payment.entity.js';

/** Payments' composition root: a simulated payment provider, charging each order at most once. */
export default defineModule({
  name: 'payments',
  contract: PaymentsContract,
  core: PaymentsCoreModule,
  http: PaymentsHttpModule,
  entities: [PaymentEntity],
  // Read-only over HTTP: only the checkout saga charges and refunds.
  httpCalls: [uses(PaymentsContract, 'findPayments', 'getPayment')],
});
