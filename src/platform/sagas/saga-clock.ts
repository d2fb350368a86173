/**
 * The process's side of a saga's time: a monotonic clock (leases and deadlines
 * as time left, step durations) and the timer that aborts an attempt. The
 * system's in production; a test drives its own, with the database's notion
 * of time moved alongside, to replay an interleaving exactly.
 */
export interface SagaClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: SagaClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
