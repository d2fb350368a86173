import { ModuleSettings } from '../../../../platform/index.js';

/** Timing of Orders' sagas (the checkout, a cancellation); each can be set from the environment. */
export interface CheckoutSagaOptions {
  /** A step that gets no answer within this is retried (CHECKOUT_STEP_TIMEOUT_MS). */
  readonly stepTimeoutMs: number;
  /** Past this after the order was placed, whatever is done is compensated: TIMED_OUT (CHECKOUT_DEADLINE_MS). */
  readonly deadlineMs: number;
  /** First retry delay of a step; doubles up to `maxRetryDelayMs`. */
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  /** Failed attempts of a step that cannot give up (a compensation, a cancellation's step) before its saga is STUCK (SAGA_STUCK_AFTER_ATTEMPTS). */
  readonly stuckAfterAttempts: number;
  /** How long a runner holds a saga; longer than a step may take. */
  readonly leaseMs: number;
  /** Sagas of one type a process runs at once, started there or claimed from the queue (SAGA_CONCURRENCY). */
  readonly concurrency: number;
  /** The recovery poll; new and retried sagas wake the runner without it. */
  readonly pollIntervalMs: number;
  /**
   * New orders are refused (503, Retry-After) while queued sagas wait longer
   * than this to start (CHECKOUT_ADMISSION_MAX_WAIT_MS): accepted past that
   * point, an order risks its deadline, and a client is better told to come back.
   */
  readonly admissionMaxWaitMs: number;
  /**
   * Checkouts in flight are bounded by the rate they complete at times this
   * (CHECKOUT_ADMISSION_TARGET_MS, ADR 16): about how long an accepted order waits its turn.
   */
  readonly admissionTargetMs: number;
  /** The bound never goes below this (CHECKOUT_ADMISSION_MIN_IN_FLIGHT). */
  readonly admissionMinInFlight: number;
  /** How often the sagas in flight and the wait of queued ones are read. */
  readonly admissionSampleMs: number;
  /**
   * Clients waiting at once for a checkout's end (`Prefer: wait`, ADR 30) in
   * this process (CHECKOUT_MAX_WAITERS); past it, a client gets its answer at once.
   */
  readonly maxWaiters: number;
}

export const CHECKOUT_SAGA_OPTIONS = Symbol('CHECKOUT_SAGA_OPTIONS');

export function checkoutSagaOptions(settings: ModuleSettings): CheckoutSagaOptions {
  const stepTimeoutMs = settings.integer('CHECKOUT_STEP_TIMEOUT_MS', 5_000, 10, 600_000);
  const deadlineMs = settings.integer('CHECKOUT_DEADLINE_MS', 30_000, 10, 86_400_000);
  return {
    stepTimeoutMs,
    deadlineMs,
    retryDelayMs: settings.integer('CHECKOUT_RETRY_DELAY_MS', 100, 1, 60_000),
    maxRetryDelayMs: 5_000,
    // At the 5 s back-off ceiling, about a minute of trying before an operator is asked.
    stuckAfterAttempts: settings.integer('SAGA_STUCK_AFTER_ATTEMPTS', 20, 1, 1_000_000),
    // Long enough for a step, short enough that a crashed runner's sagas resume well within their deadline.
    leaseMs: Math.max(10_000, stepTimeoutMs * 2),
    // A saga spends most of its time waiting on other modules: enough running to keep them and the
    // database busy (bench:overload, ADR 44), few enough that their pools are not the queue.
    concurrency: settings.integer('SAGA_CONCURRENCY', 32, 1, 10_000),
    pollIntervalMs: 1_000,
    // A third of the deadline: time left for the saga's own steps and retries once it starts.
    admissionMaxWaitMs: settings.integer('CHECKOUT_ADMISSION_MAX_WAIT_MS', Math.floor(deadlineMs / 3), 0, 86_400_000),
    // A second, well within the deadline: whatever is accepted finishes long before it (ADR 16).
    admissionTargetMs: settings.integer('CHECKOUT_ADMISSION_TARGET_MS', Math.min(1_000, Math.floor(deadlineMs / 10)) || 1, 1, 86_400_000),
    // Four runner batches: the runners stay busy, so the rate measured is what they can do.
    admissionMinInFlight: settings.integer('CHECKOUT_ADMISSION_MIN_IN_FLIGHT', 64, 1, 1_000_000),
    admissionSampleMs: 100,
    // A waiter is a timer and a map entry; its HTTP connection is what costs: bounded well under a process's sockets.
    maxWaiters: settings.integer('CHECKOUT_MAX_WAITERS', 10_000, 0, 1_000_000),
  };
}
