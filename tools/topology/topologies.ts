/**
 * The placements of topology.md, as the process variables of each process.
 * Only configuration differs between them: the same build runs every one.
 */
export interface ProcessPlan {
  /** A short name for log prefixes: the modules it hosts, or "gateway". */
  readonly name: string;
  readonly env: { readonly MODULES?: string; readonly GATEWAY: 'on' | 'off' };
  /** Another entry point than the store's build (a baseline for comparison); it gets DATABASE_URL and PORT. */
  readonly entry?: string;
}

export const TOPOLOGY_NAMES = ['monolith', 'inventory-extracted', 'microservices'] as const;

/**
 * `monolith`: one process, every module. `<module>-extracted`: that module in
 * a headless process, the rest with the gateway. `microservices`: every
 * module in a headless process, plus a gateway hosting none. `<any>-replicas`:
 * two replicas of each of its processes (`monolith#1`, `monolith#2`, ...).
 */
export function planTopology(name: string, modules: readonly string[]): ProcessPlan[] {
  // `<topology>-replicas`: every process of it twice, the same variables (topology.md: another PORT each).
  const replicated = /^(.+)-replicas$/.exec(name)?.[1];
  if (replicated) {
    return planTopology(replicated, modules).flatMap((plan) => [1, 2].map((n): ProcessPlan => ({ ...plan, name: `${plan.name}#${n}` })));
  }
  if (name === 'monolith') return [{ name: 'monolith', env: { GATEWAY: 'on' } }];
  if (name === 'microservices') {
    return [
      ...modules.map((module): ProcessPlan => ({ name: module, env: { MODULES: module, GATEWAY: 'off' } })),
      { name: 'gateway', env: { MODULES: '', GATEWAY: 'on' } },
    ];
  }
  const extracted = /^([a-z][a-z0-9_]*)-extracted$/.exec(name)?.[1];
  if (extracted && modules.includes(extracted)) {
    const rest = modules.filter((module) => module !== extracted);
    return [
      { name: extracted, env: { MODULES: extracted, GATEWAY: 'off' } },
      { name: rest.join('+'), env: { MODULES: rest.join(','), GATEWAY: 'on' } },
    ];
  }
  throw new Error(
    `unknown topology '${name}' (known: monolith, microservices, or <module>-extracted with a module of ${modules.join(', ')}; any of them -replicas)`,
  );
}
