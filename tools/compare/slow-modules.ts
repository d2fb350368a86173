import type { TopologyResult } from './results.js';

/** A module's calls take at least this long on average, and this many times the others', to be called slow. */
const MIN_MEAN_MS = 20;
const FACTOR = 4;

/**
 * The modules whose remote calls were slow, from the callers' own timings
 * (`module_call_duration_seconds{binding="remote"}` of every process, over the
 * scenario and the fixed-rate point): a module is slow when its calls took at
 * least 20 ms on average and 4 times as long as those of the median other
 * module of the same topology, or 4 times as long as the same module's calls in
 * another topology. A module whose calls wait for a slow module it calls
 * (module.json's `calls`, transitively: orders.placeOrder waits for
 * inventory.getPrices) is not named: its slowness is the other's. Names the
 * module from what was measured, not from a configuration: a planted delay
 * and a real one look the same.
 */
export function slowModules(
  topologies: readonly TopologyResult[],
  calls: Readonly<Record<string, readonly string[]>> = {},
): Array<{ topology: string; module: string; meanMs: number; comparedWith: string }> {
  const out: Array<{ topology: string; module: string; meanMs: number; comparedWith: string }> = [];
  const callees = (module: string, seen = new Set<string>()): Set<string> => {
    for (const c of calls[module] ?? []) if (!seen.has(c)) callees(c, seen.add(c));
    return seen;
  };
  for (const t of topologies) {
    const found: typeof out = [];
    const modules = Object.entries(t.remoteByModule ?? {}).filter(([, r]) => r.calls > 0);
    for (const [module, r] of modules) {
      if (r.meanMs < MIN_MEAN_MS) continue;
      const others = modules
        .filter(([m]) => m !== module)
        .map(([, o]) => o.meanMs)
        .sort((a, b) => a - b);
      const median = others.length ? others[Math.floor((others.length - 1) / 2)] : undefined;
      const elsewhere = topologies
        .filter((o) => o !== t && (o.remoteByModule?.[module]?.calls ?? 0) > 0)
        .map((o) => ({ name: o.name, meanMs: o.remoteByModule![module].meanMs }))
        .sort((a, b) => a.meanMs - b.meanMs)[0];
      if (median !== undefined && r.meanMs >= FACTOR * Math.max(median, 1)) {
        found.push({ topology: t.name, module, meanMs: r.meanMs, comparedWith: `the other modules' median of ${median} ms in ${t.name}` });
      } else if (elsewhere && r.meanMs >= FACTOR * Math.max(elsewhere.meanMs, 1)) {
        found.push({ topology: t.name, module, meanMs: r.meanMs, comparedWith: `${elsewhere.meanMs} ms in ${elsewhere.name}` });
      }
    }
    const slow = new Set(found.map((f) => f.module));
    out.push(...found.filter((f) => ![...callees(f.module)].some((c) => slow.has(c))));
  }
  return out;
}
