import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleSettings, TransactionRunner } from '../../../../platform/index.js';
import type { PaymentStatus } from '../../contract/payment.view.js';

/** The one token the simulated provider declines (store-api.md). */
export const DECLINED_TOKEN = 'tok_declined';

/** The simulated provider's answer for a token. */
export function authorize(paymentToken: string): Extract<PaymentStatus, 'CAPTURED' | 'DECLINED'> {
  return paymentToken === DECLINED_TOKEN ? 'DECLINED' : 'CAPTURED';
}

/** How often each replica prunes the books, and how many entries one statement removes at most. */
const PRUNE_EVERY_MS = 60_000;
const PRUNE_BATCH = 1_000;

/**
 * A capture, idempotent by key across replicas: the first writes the entry; a repeat
 * (here or in another replica, even at the same moment: it waits on the key) takes
 * nothing and reads what the first decided. `status = b.status` only makes the row come back.
 */
const CAPTURE = `
  INSERT INTO payments.provider_books AS b (key, amount_cents, status) VALUES ($1, $2, $3)
  ON CONFLICT (key) DO UPDATE SET status = b.status
  RETURNING status`;

/** A capture's money goes back once; a key never captured (or declined) is left as it is. */
const REFUND = `UPDATE payments.provider_books SET status = 'REFUNDED' WHERE key = $1 AND status = 'CAPTURED'`;

const HELD = `SELECT amount_cents FROM payments.provider_books WHERE key = $1 AND status = 'CAPTURED'`;

/**
 * The oldest entries, one batch, removed if past the retention or beyond the bound
 * (`n` orders them; replicas pruning at once skip each other's rows).
 */
const PRUNE = `
  WITH oldest AS (
    SELECT key, n, created_at FROM payments.provider_books ORDER BY n LIMIT $3 FOR UPDATE SKIP LOCKED
  )
  DELETE FROM payments.provider_books b USING oldest o
   WHERE b.key = o.key
     AND (o.n <= (SELECT max(n) FROM payments.provider_books) - $1 OR o.created_at < now() - $2 * interval '1 millisecond')
  RETURNING b.key`;

/**
 * A payment provider that behaves as a real one does: a capture takes money
 * (kept in its books), idempotent by key (the order id), and a refund gives a
 * capture's money back, once; a refund of a key it never captured does
 * nothing, so a capture arriving after it still takes the money. That is why
 * Payments writes its intent before calling it (see ChargePaymentHandler).
 *
 * It stands for a system outside the store, shared by every replica of Payments:
 * its books are a table of the payments schema (ADR 24), not a process's memory.
 * They are bounded: an entry is kept PAYMENT_PROVIDER_RETENTION_MS (7 days), and
 * never more than PAYMENT_PROVIDER_BOOKS_MAX entries (100 000), the oldest going
 * first; each replica prunes every minute. A key is asked about only while its
 * checkout runs or is compensated (well within the retention); a repeat of a key
 * pruned since would be a new capture, so the bound must exceed the charges made
 * within that time.
 */
@Injectable()
export class SimulatedPaymentProvider implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('payments.simulated-provider');
  private readonly retentionMs: number;
  private readonly maxEntries: number;
  private timer: NodeJS.Timeout | undefined;
  private pruning: Promise<number> | undefined;

  constructor(
    private readonly transactions: TransactionRunner,
    settings: ModuleSettings,
  ) {
    this.retentionMs = settings.integer('PAYMENT_PROVIDER_RETENTION_MS', 7 * 24 * 3_600_000, 1_000, 365 * 24 * 3_600_000);
    this.maxEntries = settings.integer('PAYMENT_PROVIDER_BOOKS_MAX', 100_000, 1, 1_000_000_000);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.prune().catch((error: unknown) => this.logger.warn(`pruning the provider's books failed, retried in a minute: ${(error as Error).message}`));
    }, PRUNE_EVERY_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.pruning?.catch(() => {});
  }

  async capture(key: string, amountCents: number, paymentToken: string): Promise<'CAPTURED' | 'DECLINED'> {
    const [entry] = await this.transactions.statement<{ status: 'CAPTURED' | 'DECLINED' | 'REFUNDED' }>('provider-capture', CAPTURE, [
      key,
      amountCents,
      authorize(paymentToken),
    ]);
    return entry.status === 'DECLINED' ? 'DECLINED' : 'CAPTURED';
  }

  async refund(key: string): Promise<void> {
    await this.transactions.statement('provider-refund', REFUND, [key]);
  }

  /** Money the provider holds for a key now: captured and not refunded. */
  async held(key: string): Promise<number> {
    const [entry] = await this.transactions.statement<{ amount_cents: number }>('provider-held', HELD, [key]);
    return entry?.amount_cents ?? 0;
  }

  /** Removes what is past the retention or beyond the bound, one batch at a time; answers how many. */
  prune(): Promise<number> {
    this.pruning ??= (async () => {
      let removed = 0;
      for (;;) {
        const { length: count } = await this.transactions.statement('provider-prune', PRUNE, [this.maxEntries, this.retentionMs, PRUNE_BATCH]);
        removed += count;
        if (count < PRUNE_BATCH) return removed;
      }
    })().finally(() => (this.pruning = undefined));
    return this.pruning;
  }
}
