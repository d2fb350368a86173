import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad, type LoadResult } from '../tools/compare/load.js';
import type { ProcessTarget } from '../tools/compare/process-stats.js';
import { cpuBounding } from '../tools/hosts/host-network.js';
import { MultiHost, multiHostUnavailable } from '../tools/hosts/multi-host.js';
import { storeInvariantViolations } from '../tools/support/store-invariants.js';
import { option, printTable } from './support/stats.js';

/**
 * Scale one service on its own (issue 26, item 5): the measurement a user runs to decide which
 * service gets a second replica. The microservices topology on hosts of their own (tools/hosts:
 * each process on its own network namespace, links delayed --delay-ms each way, every store host's
 * CPU bounded to --cpu cores by a cgroup quota where the kernel allows), a closed-loop checkout load
 * spread over --products products (--concurrency connections, --duration s, after a warm-up):
 *   1. every service at one replica: completed checkouts/s, POST and end-to-end latency, each
 *      host's CPU; the bottleneck is the module service whose CPU is nearest its quota
 *      (or --module);
 *   2. the same with that service at two replicas (the others still at one).
 * Both runs on fresh hosts and a fresh database. What bounds the result: this machine has 2 cores
 * for everything (the load generator, PostgreSQL, three NATS nodes, the link proxies, six or seven
 * store processes): a second replica can only show a gain while the machine has CPU to spare
 * beyond the bottleneck's quota; the "machine busy" column says how close it was.
 *
 *   npm run bench:scale-out -- [--duration 10] [--concurrency 16] [--cpu 0.5] [--delay-ms 0.5] [--products 64] [--module orders]
 */
const durationS = option('duration', 10);
const concurrency = option('concurrency', 16);
const cpu = option('cpu', 0.5);
const delayMs = process.argv.includes('--delay-ms') ? Number(process.argv[process.argv.indexOf('--delay-ms') + 1]) : 0.5;
const products = option('products', 64);
const forcedModule = process.argv.includes('--module') ? process.argv[process.argv.indexOf('--module') + 1] : undefined;

const unavailable = multiHostUnavailable();
if (unavailable) {
  console.error(`bench:scale-out: cannot make hosts here: ${unavailable}`);
  process.exit(1);
}
const bounding = cpuBounding();
console.log(
  `scale-out: microservices on hosts of their own, links +${delayMs} ms each way, ${concurrency} connections for ${durationS} s over ${products} products; ` +
    (bounding.kind === 'none' ? `store hosts' CPU NOT bounded (${bounding.why})` : `each store host bounded to ${cpu} core (cgroup ${bounding.kind} quota)`),
);

interface Measured {
  readonly label: string;
  readonly replicas: Record<string, number>;
  readonly load: LoadResult;
  /** Per store host: cores used during the load, and the share of periods its quota throttled. */
  readonly hosts: Array<{ host: string; cores: number; throttledPercent: number | undefined }>;
  readonly violations: string[];
}

async function measure(label: string, replicas: Record<string, number>): Promise<Measured> {
  console.error(`${label}: bringing the hosts up (${JSON.stringify(replicas)})…`);
  const harness = await MultiHost.start({ topology: 'microservices', delayMs, replicas, cpu: { '*': cpu }, envOverrides: { LOG_LEVEL: 'warn' } });
  try {
    const skus = Array.from({ length: products }, (_, i) => `SCALE-${i}`);
    for (const sku of skus) {
      const response = await fetch(`${harness.gatewayUrl}/inventory/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sku, name: 'Kettle', priceCents: 1000, stock: 1_000_000 }),
      });
      if (response.status !== 201) throw new Error(`POST /inventory/products ${sku}: ${response.status}`);
    }
    const targets: ProcessTarget[] = [
      ...harness.stores.map((store) => ({ name: store.host, pid: () => store.child?.pid })),
      ...harness.natsPids.map(({ host, pid }) => ({ name: host, pid: () => pid })),
    ];
    const throttledBefore = new Map(harness.stores.map((store) => [store.host, throttling(harness, store.host)]));
    const load = await runLoad({
      baseUrl: harness.gatewayUrl,
      adminUrl: harness.adminUrl,
      durationS,
      concurrency,
      sku: skus[0],
      skus,
      processes: targets,
      postmaster: harness.postgresPid,
      metricsPorts: harness.stores.map((store) => harness.urlOf(store.host)),
      warmUpS: 3,
      drainTimeoutMs: 180_000,
      onTick: (text) => process.stderr.write(`\r${label}: ${text}          `),
    });
    process.stderr.write('\n');
    const hosts = harness.stores.map((store) => {
      const stats = load.processes.find((each) => each.name === store.host);
      const [before, after] = [throttledBefore.get(store.host), throttling(harness, store.host)];
      const throttledPercent =
        before && after && after.periods > before.periods ? (100 * (after.throttled - before.throttled)) / (after.periods - before.periods) : undefined;
      return { host: store.host, cores: stats ? stats.cpuPercentOfCore / 100 : Number.NaN, throttledPercent };
    });
    return { label, replicas, load, hosts, violations: await storeInvariantViolations(harness.adminUrl) };
  } finally {
    await harness.stop();
  }
}

/** The cgroup's periods and throttled periods so far (cgroup v1 cpu.stat, v2 cpu.stat), or undefined. */
function throttling(harness: MultiHost, host: string): { periods: number; throttled: number } | undefined {
  const group = harness.network.host(host).cgroup;
  if (!group) return undefined;
  try {
    const stat = Object.fromEntries(
      readFileSync(join(group, 'cpu.stat'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(' ') as [string, string]),
    );
    return { periods: Number(stat.nr_periods), throttled: Number(stat.nr_throttled) };
  } catch {
    return undefined;
  }
}

const before = await measure('one replica each', {});
const modules = before.hosts.filter((host) => host.host !== 'gateway');
const bottleneck = forcedModule ?? [...modules].sort((a, b) => b.cores - a.cores)[0].host;
const after = await measure(`${bottleneck} at two replicas`, { [bottleneck]: 2 });

console.log('\nper host, cores used during the load (share of CPU periods its quota throttled):');
printTable(
  ['host', before.label, after.label],
  [...new Set([...before.hosts, ...after.hosts].map((host) => host.host))].map((host) => [
    host,
    ...[before, after].map((run) => {
      const entry = run.hosts.find((each) => each.host === host);
      return entry ? `${entry.cores.toFixed(2)}${entry.throttledPercent === undefined ? '' : ` (${entry.throttledPercent.toFixed(0)}%)`}` : '-';
    }),
  ]),
);
console.log('\nthe decision:');
printTable(
  [
    'run',
    'completed checkouts/s',
    'POST p50 / p99 ms',
    'end to end p50 / p99 ms',
    'confirmed',
    'machine busy, % of one core',
    'other workloads, % of one core',
    'invariants',
  ],
  [before, after].map((run) => [
    run.label,
    run.load.completedPerSecond,
    `${run.load.postLatencyMs.p50} / ${run.load.postLatencyMs.p99}`,
    `${run.load.endToEndMs.p50} / ${run.load.endToEndMs.p99}`,
    run.load.confirmed,
    run.load.machine?.busyPercentOfCore ?? '-',
    run.load.machine?.otherPercentOfCore ?? '-',
    run.violations.length === 0 ? 'hold' : run.violations.join('; '),
  ]),
);
const ratio = after.load.completedPerSecond / before.load.completedPerSecond;
console.log(`\n${bottleneck} at two replicas: ${ratio.toFixed(2)}x the throughput of one (baseline: one replica each, measured in the same run).`);
if ((after.load.machine?.busyPercentOfCore ?? 0) > 180)
  console.log('!!! the machine was busy (> 180% of its 2 cores) during the second run: a gain, or its absence, is bounded by the machine, not by the service.');
process.exit(before.violations.length + after.violations.length > 0 ? 1 : 0);
