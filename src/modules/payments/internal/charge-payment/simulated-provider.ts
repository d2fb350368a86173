import type { PaymentStatus } from '../../contract/payment.view.js';

/** The one token the simulated provider declines (store-api.md). */
export const DECLINED_TOKEN = 'tok_declined';

/**
 * The simulated provider's answer for a token. It is a pure function, so
 * deciding before the payment is recorded is the same as asking a real
 * provider with the order id as its idempotency key.
 */
export function authorize(paymentToken: string): Extract<PaymentStatus, 'CAPTURED' | 'DECLINED'> {
  return paymentToken === DECLINED_TOKEN ? 'DECLINED' : 'CAPTURED';
}
