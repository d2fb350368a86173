/** Tunables of the outbox relay and the inbox, with production defaults. */
export interface MessagingOptions {
  /** Attempts per subscriber before an event is dead-lettered. */
  readonly maxAttempts: number;
  /** First retry delay; doubles on each attempt up to `maxBackoffMs`. */
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Deliveries claimed per round trip. */
  readonly batchSize: number;
  /** How long a claim lasts: a relay that dies mid-delivery loses its claims after this. */
  readonly leaseMs: number;
  /** The slow recovery poll; the happy path is woken on commit and never waits for it. */
  readonly pollIntervalMs: number;
  /** Delivered events and inbox records older than this are pruned. */
  readonly retentionMs: number;
  readonly pruneIntervalMs: number;
  /** How long a graceful stop waits for deliveries in flight. */
  readonly shutdownDeadlineMs: number;
  /**
   * After a pass that found more than one delivery waiting, the next starts at
   * least this long after it: under load, the commits of that time go in one
   * pass (one claim, one inbox transaction, one update) instead of a pass each.
   * After a pass that found one (light load) or none, a relay delivers at once.
   */
  readonly minPassIntervalMs: number;
  /**
   * A relay vacuums its queue of deliveries after this many deliveries made,
   * at most every `queueVacuumIntervalMs` (see `OutboxStore.vacuumQueue`).
   */
  readonly queueVacuumEvery: number;
  readonly queueVacuumIntervalMs: number;
  /**
   * Off the stream: an event whose predecessor has not come is tried again
   * shortly, and dead-lettered after `maxAttempts` times this many such waits
   * (its predecessor may have left the stream unread; ADR 12, 20).
   */
  readonly orderingWaitsPerAttempt: number;
}

export const DEFAULT_MESSAGING_OPTIONS: MessagingOptions = {
  maxAttempts: 10,
  baseBackoffMs: 200,
  maxBackoffMs: 60_000,
  batchSize: 200,
  leaseMs: 30_000,
  pollIntervalMs: 2_000,
  retentionMs: 7 * 24 * 3600_000,
  pruneIntervalMs: 10 * 60_000,
  shutdownDeadlineMs: 10_000,
  minPassIntervalMs: 20,
  queueVacuumEvery: 1000,
  queueVacuumIntervalMs: 2000,
  orderingWaitsPerAttempt: 50,
};

/** Exponential back-off with full jitter, so retries of many events do not stampede together. */
export function backoffMs(options: MessagingOptions, attempts: number, random = Math.random): number {
  const ceiling = Math.min(options.maxBackoffMs, options.baseBackoffMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
