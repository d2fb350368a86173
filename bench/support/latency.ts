import { percentile } from './stats.js';

export interface Variant {
  readonly name: string;
  readonly call: () => Promise<unknown>;
}

export interface Sampled {
  readonly name: string;
  /** Per-call latency percentiles, nanoseconds (one hrtime pair per call). */
  readonly p50: number;
  readonly p99: number;
  /** Mean per call of untimed loops, nanoseconds (no timer in the loop). */
  readonly meanNs: number;
  /** CPU time (user + system) of this process per call in the untimed loops, nanoseconds: what the calls cost whatever else runs. */
  readonly cpuNs: number;
}

/** Keeps results alive so that no call can be optimised away. */
export let sink: unknown;

/**
 * Samples sequential awaited calls of each variant: a warm-up, then `rounds`
 * rounds in which every variant (in a rotating order, so that none always runs
 * first after another's garbage) makes `iterations / rounds` individually timed
 * calls and as many untimed ones.
 */
export async function sample(variants: readonly Variant[], options: { iterations: number; rounds: number; warmup: number }): Promise<Sampled[]> {
  for (const variant of variants) await untimed(variant.call, options.warmup);
  const perRound = Math.max(1, Math.floor(options.iterations / options.rounds));
  const samples = variants.map(() => new Float64Array(perRound * options.rounds));
  const filled = variants.map(() => 0);
  const untimedNs = variants.map(() => 0);
  const cpuNs = variants.map(() => 0);
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (k + round) % variants.length;
      filled[i] = await timed(variants[i].call, perRound, samples[i], filled[i]);
      const cpu = process.cpuUsage();
      untimedNs[i] += await untimed(variants[i].call, perRound);
      const used = process.cpuUsage(cpu);
      cpuNs[i] += (used.user + used.system) * 1000;
    }
  }
  return variants.map((variant, i) => {
    const values = Array.from(samples[i]);
    return {
      name: variant.name,
      p50: percentile(values, 50),
      p99: percentile(values, 99),
      meanNs: untimedNs[i] / (perRound * options.rounds),
      cpuNs: cpuNs[i] / (perRound * options.rounds),
    };
  });
}

async function timed(call: () => Promise<unknown>, count: number, into: Float64Array, from: number): Promise<number> {
  let at = from;
  for (let n = 0; n < count; n++) {
    const start = process.hrtime.bigint();
    sink = await call();
    into[at++] = Number(process.hrtime.bigint() - start);
  }
  return at;
}

/** Total nanoseconds of `count` sequential calls. */
async function untimed(call: () => Promise<unknown>, count: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let n = 0; n < count; n++) sink = await call();
  return Number(process.hrtime.bigint() - start);
}

/** Median cost of one back-to-back process.hrtime.bigint() pair, nanoseconds. */
export function timerOverheadNs(): number {
  const values: number[] = [];
  for (let n = 0; n < 100_000; n++) {
    const start = process.hrtime.bigint();
    values.push(Number(process.hrtime.bigint() - start));
  }
  return percentile(values, 50);
}

/** Nanoseconds per call of an async operation: median of 5 untimed loops, after a warm-up. */
export async function nsPerCall(call: () => unknown, count: number): Promise<number> {
  for (let n = 0; n < Math.min(count, 20_000); n++) sink = await call();
  const chunk = Math.max(1, Math.floor(count / 5));
  const means: number[] = [];
  for (let repeat = 0; repeat < 5; repeat++) {
    const start = process.hrtime.bigint();
    for (let n = 0; n < chunk; n++) sink = await call();
    means.push(Number(process.hrtime.bigint() - start) / chunk);
  }
  return percentile(means, 50);
}

/** Nanoseconds per call of a synchronous operation: median of 5 untimed loops, after a warm-up. */
export function nsPerSyncCall(call: () => unknown, count: number): number {
  for (let n = 0; n < Math.min(count, 20_000); n++) sink = call();
  const chunk = Math.max(1, Math.floor(count / 5));
  const means: number[] = [];
  for (let repeat = 0; repeat < 5; repeat++) {
    const start = process.hrtime.bigint();
    for (let n = 0; n < chunk; n++) sink = call();
    means.push(Number(process.hrtime.bigint() - start) / chunk);
  }
  return percentile(means, 50);
}
