import { createHash } from 'node:crypto';
import type { CheckoutRequest } from '../../contract/checkout.request.js';

/**
 * A digest of what a checkout asks for, independent of JSON key order, so
 * that a retry with the same Idempotency-Key can be told from a different
 * request reusing the key.
 */
export function requestFingerprint(request: CheckoutRequest): string {
  const { customerId, items, paymentToken, shippingAddress } = request;
  return createHash('sha256').update(canonical({ customerId, items, paymentToken, shippingAddress })).digest('hex');
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
