import { mean, percentile, prng } from '../support/stats.js';

export { mean, percentile, prng };

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export function percentiles(samples: readonly number[]): Percentiles {
  return {
    count: samples.length,
    p50: round(percentile(samples, 50)),
    p95: round(percentile(samples, 95)),
    p99: round(percentile(samples, 99)),
    max: round(samples.length ? samples.reduce((m, x) => Math.max(m, x), -Infinity) : Number.NaN),
    mean: round(mean(samples)),
  };
}

/** Upper bounds (ms) of the latency histograms, shared by every topology so that their bars line up. */
export const LATENCY_BUCKETS_MS = [
  1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000, 7000, 10000, 15000, 20000, 30000, 60000,
];

export interface Histogram {
  /** Bucket labels, e.g. "≤5", and a last "> 30000". */
  readonly labels: readonly string[];
  readonly counts: readonly number[];
}

export function histogram(samples: readonly number[]): Histogram {
  const counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  for (const x of samples) {
    let i = LATENCY_BUCKETS_MS.findIndex((bound) => x <= bound);
    if (i < 0) i = LATENCY_BUCKETS_MS.length;
    counts[i]++;
  }
  const labels = [...LATENCY_BUCKETS_MS.map((b) => `≤${b}`), `>${LATENCY_BUCKETS_MS.at(-1)}`];
  return { labels, counts };
}

/** Rounds for reports and JSON: 2 decimals below 100, whole numbers above. NaN stays NaN (JSON: null). */
export function round(x: number): number {
  if (!Number.isFinite(x)) return Number.NaN;
  return Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100;
}
