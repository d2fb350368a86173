import { Injectable } from '@nestjs/common';
import type { PaymentStatus } from '../../contract/payment.view.js';

/** The one token the simulated provider declines (store-api.md). */
export const DECLINED_TOKEN = 'tok_declined';

/** The simulated provider's answer for a token. */
export function authorize(paymentToken: string): Extract<PaymentStatus, 'CAPTURED' | 'DECLINED'> {
  return paymentToken === DECLINED_TOKEN ? 'DECLINED' : 'CAPTURED';
}

/**
 * A payment provider that behaves as a real one does: a capture takes money
 * (kept in its books), idempotent by key (the order id), and a refund gives a
 * capture's money back, once; a refund of a key it never captured does
 * nothing, so a capture arriving after it still takes the money. That is why
 * Payments writes its intent before calling it (see ChargePaymentHandler).
 * The books live in this process's memory: it stands for a system outside the store.
 */
@Injectable()
export class SimulatedPaymentProvider {
  private readonly books = new Map<string, { amountCents: number; status: 'CAPTURED' | 'DECLINED' | 'REFUNDED' }>();

  async capture(key: string, amountCents: number, paymentToken: string): Promise<'CAPTURED' | 'DECLINED'> {
    const earlier = this.books.get(key);
    if (earlier) return earlier.status === 'DECLINED' ? 'DECLINED' : 'CAPTURED';
    const status = authorize(paymentToken);
    this.books.set(key, { amountCents, status });
    return status;
  }

  async refund(key: string): Promise<void> {
    const entry = this.books.get(key);
    if (entry?.status === 'CAPTURED') entry.status = 'REFUNDED';
  }

  /** Money the provider holds for a key now: captured and not refunded. */
  held(key: string): number {
    const entry = this.books.get(key);
    return entry?.status === 'CAPTURED' ? entry.amountCents : 0;
  }
}
