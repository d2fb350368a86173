import {
  BrokenCircuitError,
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  type IPolicy,
  noop,
  retry,
  wrap,
} from 'cockatiel';
import { TransportError } from './transport.js';

export interface ResilienceOptions {
  /** Deadline of one attempt of a remote call. */
  readonly callTimeoutMs: number;
  /** Retries after the first attempt, for idempotent operations only. */
  readonly retries: number;
  /** Consecutive transport failures that open a module's circuit. */
  readonly breakerThreshold: number;
  /** How long an open circuit fails fast before letting one call through. */
  readonly breakerHalfOpenAfterMs: number;
}

export const DEFAULT_RESILIENCE: ResilienceOptions = {
  callTimeoutMs: 5_000,
  retries: 2,
  breakerThreshold: 5,
  breakerHalfOpenAfterMs: 2_000,
};

/** Only "no answer" counts: a module that answers with an error is reachable. */
const transportFailures = handleWhen((error) => error instanceof TransportError);

/**
 * One circuit breaker per remote module (cockatiel), shared by all its
 * operations, so an unreachable module fails fast instead of tying up every
 * caller for a full timeout; and bounded retries with back-off for calls that
 * are safe to repeat.
 */
export class ModuleResilience {
  private readonly breaker;
  private readonly retrying: IPolicy;

  constructor(options: ResilienceOptions) {
    this.breaker = circuitBreaker(transportFailures, {
      halfOpenAfter: options.breakerHalfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.breakerThreshold),
    });
    this.retrying =
      options.retries > 0
        ? retry(transportFailures, {
            maxAttempts: options.retries,
            backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1_000 }),
          })
        : noop;
  }

  /** `signal` aborts the whole call: cockatiel starts no further retry once it has. */
  execute<T>(idempotent: boolean, attempt: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const policy = idempotent ? wrap(this.retrying, this.breaker) : this.breaker;
    return policy.execute((context) => attempt(context.signal), signal);
  }
}

export function isBrokenCircuit(error: unknown): boolean {
  return error instanceof BrokenCircuitError;
}
