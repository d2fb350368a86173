/**
 * Payments' public face: the only file of this module other modules may
 * import. Everything under `internal/` is private to the module.
 */
export { PaymentsContract, type Payments, InjectPayments } from './contract/payments.contract.js';
export { ChargePaymentCommand } from './contract/charge-payment.command.js';
export { RefundPaymentCommand } from './contract/refund-payment.command.js';
export { GetPaymentQuery } from './contract/get-payment.query.js';
export { FindPaymentsQuery } from './contract/find-payments.query.js';
export type { PaymentStatus, PaymentView } from './contract/payment.view.js';
export { PAYMENT_TOKEN_PATTERN } from './contract/payment-token.js';
