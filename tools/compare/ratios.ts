import { LOAD_GENERATOR, NOT_STORE, POSTGRES } from './process-stats.js';
import type { RatePoint } from './rate-load.js';
import type { TopologyResult } from './results.js';
import { round } from './stats.js';

/** The fixed-rate point of a topology's curve. */
export function fixedPoint(t: TopologyResult): RatePoint | undefined {
  return t.latency?.points.find((p) => p.offeredPerSecond === t.latency!.fixedRate);
}

/**
 * The measures compared across topologies, each read from one topology's
 * results: latency at the fixed offered rate (never in overload), throughput
 * at saturation, CPU per checkout at saturation (the marginal cost).
 */
export const MEASURES: ReadonlyArray<{
  readonly key: string;
  readonly label: string;
  readonly better: 'higher' | 'lower';
  readonly read: (t: TopologyResult) => number | undefined;
}> = [
  { key: 'saturationPerSecond', label: 'saturation throughput, completed checkouts/s', better: 'higher', read: (t) => t.performance?.completedPerSecond },
  { key: 'terminalP50Ms', label: 'at the fixed rate: POST -> order terminal p50, ms', better: 'lower', read: (t) => fixedPoint(t)?.terminalMs.p50 },
  { key: 'terminalP99Ms', label: 'at the fixed rate: POST -> order terminal p99, ms', better: 'lower', read: (t) => fixedPoint(t)?.terminalMs.p99 },
  {
    key: 'waitTerminalP50Ms',
    label: 'at the fixed rate, Prefer: wait: POST -> order terminal (the 201) p50, ms',
    better: 'lower',
    read: (t) => t.latency?.waiting?.terminalMs.p50,
  },
  {
    key: 'waitTerminalP99Ms',
    label: 'at the fixed rate, Prefer: wait: POST -> order terminal (the 201) p99, ms',
    better: 'lower',
    read: (t) => t.latency?.waiting?.terminalMs.p99,
  },
  { key: 'postP50Ms', label: 'at the fixed rate: POST /orders p50, ms', better: 'lower', read: (t) => fixedPoint(t)?.postMs.p50 },
  { key: 'postP99Ms', label: 'at the fixed rate: POST /orders p99, ms', better: 'lower', read: (t) => fixedPoint(t)?.postMs.p99 },
  { key: 'notificationLagP50Ms', label: 'at the fixed rate: notification lag p50, ms', better: 'lower', read: (t) => fixedPoint(t)?.notificationLagMs?.p50 },
  { key: 'storeCpuMsPerCheckout', label: 'store CPU ms per checkout (saturation)', better: 'lower', read: (t) => storeCpuPerCheckout(t) },
  {
    key: 'totalCpuMsPerCheckout',
    label: 'CPU ms per checkout: store + NATS server + Postgres (saturation)',
    better: 'lower',
    read: (t) => totalCpuPerCheckout(t),
  },
  {
    key: 'postgresCpuMsPerCheckout',
    label: 'Postgres CPU ms per checkout (saturation)',
    better: 'lower',
    read: (t) => t.performance?.perCheckout.cpuMs[POSTGRES],
  },
  { key: 'storePeakRssMiB', label: 'store RSS, MiB (sum of peaks)', better: 'lower', read: (t) => storePeakRss(t) },
  { key: 'remoteCallsPerCheckout', label: 'remote calls per checkout', better: 'lower', read: (t) => t.performance?.perCheckout.remoteCalls },
  { key: 'networkHopsPerCheckout', label: 'network hops per checkout', better: 'lower', read: (t) => t.performance?.perCheckout.networkHops },
];

export function storeCpuPerCheckout(t: TopologyResult): number | undefined {
  const perf = t.performance;
  if (!perf) return undefined;
  const store = perf.processes.filter((p) => !NOT_STORE.has(p.name)).reduce((s, p) => s + p.cpuMs, 0);
  return perf.confirmed > 0 ? round(store / perf.confirmed) : undefined;
}

export function totalCpuPerCheckout(t: TopologyResult): number | undefined {
  const perf = t.performance;
  if (!perf) return undefined;
  const total = perf.processes.filter((p) => p.name !== LOAD_GENERATOR).reduce((s, p) => s + p.cpuMs, 0);
  return perf.confirmed > 0 ? round(total / perf.confirmed) : undefined;
}

export function storePeakRss(t: TopologyResult): number | undefined {
  const perf = t.performance;
  if (!perf) return undefined;
  return round(perf.processes.filter((p) => !NOT_STORE.has(p.name)).reduce((s, p) => s + (p.rssPeakMiB ?? 0), 0));
}

/**
 * "<topology> / monolith" for every measure both have: above 1 means more of
 * it than the monolith (better or worse depending on the measure). Against
 * the monolith when it ran, else the first topology that ran.
 */
export function ratiosOf(topologies: readonly TopologyResult[]): Record<string, Record<string, number | null>> {
  const ran = topologies.filter((t) => t.status === 'ran');
  const reference = ran.find((t) => t.name === 'monolith') ?? ran[0];
  const out: Record<string, Record<string, number | null>> = {};
  if (!reference) return out;
  for (const t of ran) {
    if (t === reference) continue;
    const ratios: Record<string, number | null> = {};
    for (const m of MEASURES) {
      const a = m.read(reference);
      const b = m.read(t);
      if (a === undefined || b === undefined) continue;
      ratios[m.key] = Number.isFinite(a) && Number.isFinite(b) && a !== 0 ? round(b / a) : null;
    }
    if (Object.keys(ratios).length > 0) out[`${t.name} / ${reference.name}`] = ratios;
  }
  return out;
}
