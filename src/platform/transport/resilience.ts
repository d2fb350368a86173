import {
  BrokenCircuitError,
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  type IPolicy,
  noop,
  retry,
  SamplingBreaker,
  wrap,
} from 'cockatiel';
import { TransportError } from './transport.js';

export interface ResilienceOptions {
  /** Deadline of one attempt of a remote call. */
  readonly callTimeoutMs: number;
  /** Retries after the first attempt, for idempotent operations only. */
  readonly retries: number;
  /** Consecutive "nobody there" failures (no responders, NATS not connected) that open a module's circuit. */
  readonly breakerThreshold: number;
  /** How long an open circuit fails fast before letting one call through. */
  readonly breakerHalfOpenAfterMs: number;
  /** Share of calls timing out, over `slowWindowMs`, that opens the circuit: every member is slow, not one. */
  readonly slowThreshold: number;
  readonly slowWindowMs: number;
}

export const DEFAULT_RESILIENCE: ResilienceOptions = {
  callTimeoutMs: 5_000,
  retries: 2,
  breakerThreshold: 5,
  breakerHalfOpenAfterMs: 1_000,
  slowThreshold: 0.8,
  slowWindowMs: 5_000,
};

/** Only "no answer" counts: a module that answers with an error is reachable. */
const transportFailures = handleWhen((error) => error instanceof TransportError);
/** The module as a whole is not there: nobody serves its subject, or we are cut off from NATS. */
const moduleAbsent = handleWhen((error) => error instanceof TransportError && !error.outcomeUnknown);
/** An attempt's deadline passed: one member may be dead or slow, the others fine. */
const timedOut = handleWhen((error) => error instanceof TransportError && error.outcomeUnknown);

/**
 * Failover and fail-fast for calls to one remote module (cockatiel).
 *
 * The members of a module share a NATS queue group: the server routes around a
 * member whose connection is gone, but a call it had in hand (or one sent to a
 * slow member) times out. So a timeout is a fact about one member, not the
 * module: idempotent calls are retried (the queue group hands the retry to any
 * member, usually another one), and timeouts open the circuit only when most
 * calls time out (SamplingBreaker): every member is slow. What says the module
 * as a whole is gone is "no responders" or "not connected": a few of those in
 * a row open the circuit (ConsecutiveBreaker), half-open after a second, and
 * `reset()` (called when the transport reconnects) closes it at once.
 */
export class ModuleResilience {
  private absent!: IPolicy;
  private slow!: IPolicy;
  private readonly retrying: IPolicy;

  constructor(private readonly options: ResilienceOptions) {
    this.reset();
    this.retrying =
      options.retries > 0
        ? retry(transportFailures, {
            maxAttempts: options.retries,
            backoff: new ExponentialBackoff({ initialDelay: 20, maxDelay: 500 }),
          })
        : noop;
  }

  /** `signal` aborts the whole call: cockatiel starts no further retry once it has. */
  execute<T>(idempotent: boolean, attempt: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const breakers = wrap(this.absent, this.slow);
    const policy = idempotent ? wrap(this.retrying, breakers) : breakers;
    return policy.execute((context) => attempt(context.signal), signal);
  }

  /** Closes the circuits: the transport is back, whatever they learnt while it was away is stale. */
  reset(): void {
    this.absent = circuitBreaker(moduleAbsent, {
      halfOpenAfter: this.options.breakerHalfOpenAfterMs,
      breaker: new ConsecutiveBreaker(this.options.breakerThreshold),
    });
    this.slow = circuitBreaker(timedOut, {
      halfOpenAfter: this.options.breakerHalfOpenAfterMs,
      // At least one call a second over the window, so that a lone slow call never opens it.
      breaker: new SamplingBreaker({ threshold: this.options.slowThreshold, duration: this.options.slowWindowMs, minimumRps: 1 }),
    });
  }
}

export function isBrokenCircuit(error: unknown): boolean {
  return error instanceof BrokenCircuitError;
}
