/**
 * How many sagas of one type may be in flight (accepted, not ended) so that the
 * last one accepted waits at most about `targetMs` for its turn (ADR 16). By
 * Little's law, `n` sagas ending at `rate` per second each spend `n / rate` s in
 * flight: so the bound is the completion rate over the last `windowMs` times
 * (the mean time a saga takes once a runner has it + the target), never below
 * `minInFlight` (enough to keep the runners busy, so that the rate measured is
 * what they can do, not what they were given). The running time is part of it
 * so that a slow machine lowers the rate, not the runners' concurrency. Pure:
 * the caller says what ended, when, and how long it ran.
 */
export interface InFlightLimitOptions {
  readonly targetMs: number;
  readonly minInFlight: number;
  /** Completions are counted over this sliding window. */
  readonly windowMs: number;
  /** Width of one bucket of the window. */
  readonly bucketMs: number;
}

export class InFlightLimit {
  /** Completions per bucket, oldest first, with the bucket's start. */
  private readonly buckets: Array<{ start: number; count: number; runningMs: number }> = [];
  private firstSeen: number | undefined;

  constructor(readonly options: InFlightLimitOptions) {
    if (!(options.targetMs > 0) || !(options.minInFlight >= 1) || !(options.windowMs >= options.bucketMs) || !(options.bucketMs > 0)) {
      throw new Error(`invalid in-flight limit options: ${JSON.stringify(options)}`);
    }
  }

  /** `count` sagas ended at `nowMs`, after running `runningMs` each (since a runner took them). */
  ended(nowMs: number, runningMs = 0, count = 1): void {
    this.drop(nowMs);
    const start = nowMs - (nowMs % this.options.bucketMs);
    const last = this.buckets.at(-1);
    if (last && last.start === start) {
      last.count += count;
      last.runningMs += runningMs * count;
    } else {
      this.buckets.push({ start, count, runningMs: runningMs * count });
    }
  }

  /** Mean running time of the sagas ended within the window, ms (0 when none). */
  meanRunningMs(nowMs: number): number {
    this.drop(nowMs);
    const count = this.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
    return count === 0 ? 0 : this.buckets.reduce((sum, bucket) => sum + bucket.runningMs, 0) / count;
  }

  /** Completions per second over the window (over the time observed, while that is shorter). */
  ratePerSecond(nowMs: number): number {
    this.firstSeen ??= nowMs;
    this.drop(nowMs);
    const observedMs = Math.min(this.options.windowMs, nowMs - this.firstSeen);
    // Less than a bucket observed: too little to call a rate.
    if (observedMs < this.options.bucketMs) return 0;
    const ended = this.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
    return (1000 * ended) / observedMs;
  }

  /** The most sagas that may be in flight now. */
  limit(nowMs: number): number {
    const rate = this.ratePerSecond(nowMs);
    return Math.max(this.options.minInFlight, Math.floor((rate * (this.meanRunningMs(nowMs) + this.options.targetMs)) / 1000));
  }

  /**
   * When to ask again, ms, for a caller refused with `inFlight` sagas in flight:
   * the time the runners take to finish the excess at the current rate, within
   * [minMs, maxMs] (no rate: maxMs).
   */
  retryAfterMs(nowMs: number, inFlight: number, minMs: number, maxMs: number): number {
    const rate = this.ratePerSecond(nowMs);
    if (rate <= 0) return maxMs;
    const excess = inFlight - this.limit(nowMs) + 1;
    return Math.round(Math.min(maxMs, Math.max(minMs, (1000 * excess) / rate)));
  }

  private drop(nowMs: number): void {
    while (this.buckets.length > 0 && this.buckets[0].start + this.options.bucketMs <= nowMs - this.options.windowMs) this.buckets.shift();
  }
}
