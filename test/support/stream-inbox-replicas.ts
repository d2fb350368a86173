import type pg from 'pg';
import type { EventSubscriber } from '../../src/platform/index.js';
import { StreamInbox } from '../../src/platform/messaging/stream-inbox.js';
import type { StreamedEvent } from '../../src/platform/messaging/event-stream.js';
import { TEST_MESSAGING, type TestStore } from './test-store.js';

/** Short limits, so that waits and dead letters happen within a few dozen deliveries (12 ordering waits). */
export const SHORT_LIMITS = { ...TEST_MESSAGING, maxAttempts: 3, baseBackoffMs: 200, maxBackoffMs: 5_000, orderingWaitsPerAttempt: 4 };

/** A replica's receiver, as a synthetic stream hands it batches. */
export type Replica = (batch: readonly StreamedEvent[]) => Promise<void>;

/**
 * `count` StreamInbox replicas of the messaging fixture's audit subscriber
 * (reading ledger's events, consumer started at sequence 1) on the store's
 * database, all with `handler` and one seeded `random` for their back-offs.
 */
export function auditReplicas(store: TestStore, handler: EventSubscriber<object>, count: number, random: () => number): Replica[] {
  const messaging = store.application.messaging;
  const [subscriber] = messaging.registry.subscribersIn('audit');
  return Array.from({ length: count }, () => {
    const inbox = new StreamInbox(
      subscriber,
      'ledger',
      store.application.databases.get('audit'),
      messaging.transactionsFor('audit'),
      messaging.store('audit'),
      () => handler,
      SHORT_LIMITS,
      1,
      random,
    );
    return (batch) => inbox.receive(batch);
  });
}

/** Which of these events the audit subscriber applied (`audit.seen`, in order) and which it dead-lettered, with the reason. */
export async function auditOutcome(admin: pg.Client, accountPattern: string, eventIds: readonly string[]) {
  const applied = (
    await admin.query<{ event_id: string; account_id: string; sequence: number }>(
      'SELECT event_id, account_id, sequence FROM audit.seen WHERE account_id LIKE $1 ORDER BY id',
      [accountPattern],
    )
  ).rows;
  const dead = new Map(
    (
      await admin.query<{ event_id: string; last_error: string | null }>(
        `SELECT event_id, last_error FROM audit.outbox_deliveries WHERE status = 'DEAD' AND event_id = ANY($1::uuid[])`,
        [eventIds],
      )
    ).rows.map((row) => [row.event_id, row.last_error]),
  );
  return { applied, dead };
}
