/**
 * The command line of `npm run compare`: parsed once, validated up front, so
 * that a bad option costs one clear line and exit code 2 before anything starts.
 */
export const PARTS = ['equivalence', 'saturation', 'latency', 'faults'] as const;
export type Part = (typeof PARTS)[number];
/** `--only performance`: both load parts. */
const ALIASES: Readonly<Record<string, readonly Part[]>> = { performance: ['saturation', 'latency'] };

/** The plain-monolith baseline (tools/compare/baseline): not a placement of the store, the same checkout written the ordinary way. */
export const BASELINE = 'plain-monolith';
export const DEFAULT_TOPOLOGIES = ['monolith', 'inventory-extracted', 'microservices', 'monolith-replicas', BASELINE] as const;
export const FAULT_KINDS = ['kill', 'slow', 'partition', 'nats-restart'] as const;
export type FaultChoice = (typeof FAULT_KINDS)[number];

export interface CompareOptions {
  readonly topologies: readonly string[];
  /** Seconds of the closed-loop saturation load per topology. */
  readonly durationS: number;
  /** Connections of the saturation load. */
  readonly concurrency: number;
  /** The fixed offered rate (checkouts/s); undefined: a fraction (`fixedPercent`) of the slowest store topology's saturation throughput. */
  readonly rate: number | undefined;
  /** The fixed rate as a % of the slowest capacity, when `rate` is not given. */
  readonly fixedPercent: number;
  /** The latency-versus-load curve: % of the slowest capacity. */
  readonly curvePercents: readonly number[];
  /** Seconds of the fixed-rate point, and of every other point of the curve. */
  readonly rateDurationS: number;
  readonly stepDurationS: number;
  /** How often a client polls GET /orders/:id until its order is terminal. */
  readonly pollMs: number;
  /** N of the waiting client's `Prefer: wait=N` (1..30 s), measured at the fixed rate beside the polling client; 0: no waiting client. */
  readonly preferWaitS: number;
  /** The rate the cost section converts CPU per checkout into cores at. */
  readonly targetRate: number;
  readonly faults: readonly FaultChoice[];
  /** The slow fault's added delay, each way, ms. */
  readonly slowMs: number;
  /** A module made slow for a whole topology's run (a planted slow module): topology -> module -> ms each way. */
  readonly slow: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** 'private': a nats-server of the run's own (when the binary exists); 'shared': NATS_URL's. */
  readonly nats: 'private' | 'shared';
  /** Seeds the scenario's values (stock levels, quantities, prices, names) and the fault load's mix. */
  readonly seed: number;
  readonly parts: ReadonlySet<Part>;
  /** How long the faulted process stays down (ms). */
  readonly faultMs: number;
  /** The module whose process is killed in distributed topologies. */
  readonly faultModule: string;
  /** Variables for every process of every topology. */
  readonly env: Readonly<Record<string, string>>;
  /** Variables for the processes of one topology only (e.g. a planted difference). */
  readonly topologyEnv: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Report directory; default reports/compare-<timestamp>/. */
  readonly out: string | undefined;
  readonly keepDatabases: boolean;
  /** Products the saturation load is spread over, in a second run (0: one product only). */
  readonly spread: number;
  /** The one-way delay of every link for `<topology>@hosts` topologies (tools/hosts), ms. */
  readonly hostsDelayMs: number;
  readonly help: boolean;
}

/** `microservices@hosts`: the topology on hosts of its own (tools/hosts), next to the same on this machine's loopback. */
export const ON_HOSTS = '@hosts';

export class UsageError extends Error {}

export const USAGE = `usage: npm run compare [-- options]

Brings each topology up in turn on a fresh database, replays one deterministic
checkout scenario against each and diffs what a client sees and the final state,
measures each one's saturation throughput (closed loop), then its latency at fixed
offered rates (open loop) that every topology sustains, injects faults under a fixed
load (a process killed, a module slowed or partitioned from NATS, NATS restarted),
and writes an HTML + Markdown + JSON report.

  --topologies a,b,c   topologies to compare, the first is the reference
                       (default: ${DEFAULT_TOPOLOGIES.join(',')})
                       ${BASELINE}: the baseline (one controller, one transaction);
                       <topology>-replicas: two replicas of each of its processes
  --only parts         comma list of ${PARTS.join(', ')} (default: all;
                       performance = saturation,latency)
  --duration S         seconds of the closed-loop saturation load (default 8)
  --concurrency N      connections of the saturation load (default 16)
  --rate R             the fixed offered rate, checkouts/s (default: --fixed-percent
                       of the slowest store topology's saturation throughput)
  --fixed-percent P    (default 50)
  --curve P,P,...      latency-vs-load points, % of the slowest capacity (default 25,75,90)
  --rate-duration S    seconds of the fixed-rate point (default 12)
  --step-duration S    seconds of every other point of the curve (default 5)
  --poll-ms MS         how often a client polls its order until terminal (default 20)
  --prefer-wait N      the waiting client's Prefer: wait=N, s, measured at the fixed
                       rate beside the polling client (default 10; 0: none)
  --target-rate N      checkouts/s the cost is stated at, in cores (default 200)
  --seed N             seed of the scenario's values and the fault load (default 42)
  --faults a,b         of ${FAULT_KINDS.join(', ')} (default: all); in a -replicas
                       topology "kill" kills one replica
  --fault-ms MS        how long each fault lasts (default 3000)
  --fault-module M     the module faulted in distributed topologies (default inventory)
  --slow-ms MS         the slow fault's delay, each way (default 100)
  --slow TOPOLOGY:MODULE=MS
                       plant a slow module: its process talks to NATS through a
                       proxy adding MS each way, for the whole run (repeatable)
  --nats private|shared
                       private (default when nats-server is installed): a nats-server -js
                       of the run's own, on a free port; shared: NATS_URL's (no NATS restart)
  --env KEY=VALUE      a variable for every process of every topology (repeatable)
  --env TOPOLOGY:KEY=VALUE
                       a variable for one topology's processes only (repeatable),
                       e.g. --env microservices:CHECKOUT_DEADLINE_MS=10
  --spread N           also measure saturation with the load spread over N products
                       (default 64; 0: one product only, where every checkout queues
                       on that product's row lock)
  --hosts-delay-ms MS  for TOPOLOGY@hosts (e.g. microservices@hosts): each process on a
                       host of its own (a network namespace; root), the environment of
                       deploy/k8s, links delayed MS each way (default 0.5); no faults part
  --out DIR            report directory (default reports/compare-<timestamp>/)
  --keep-databases     do not drop the per-topology databases afterwards
  -h, --help           this text

Postgres: DATABASE_URL's server when set (a fresh database per topology), else an
embedded PostgreSQL started once (COMPARE_PG_PORT, default 54332; COMPARE_PG_DIR).
NATS: NATS_URL (default nats://127.0.0.1:4222); when unreachable the distributed
topologies are skipped, loudly. Needs the build: npm run build && npm run compare.
Exit: 0 done and identical, 1 done with differences or failed checks or an error, 2 bad options.`;

const VALUED = new Set([
  '--topologies',
  '--only',
  '--duration',
  '--concurrency',
  '--seed',
  '--fault-ms',
  '--fault-module',
  '--env',
  '--out',
  '--rate',
  '--fixed-percent',
  '--spread',
  '--hosts-delay-ms',
  '--curve',
  '--rate-duration',
  '--step-duration',
  '--poll-ms',
  '--prefer-wait',
  '--target-rate',
  '--faults',
  '--slow-ms',
  '--slow',
  '--nats',
]);

export function parseOptions(argv: readonly string[]): CompareOptions {
  let topologies: string[] = [...DEFAULT_TOPOLOGIES];
  let durationS = 8;
  let concurrency = 16;
  let rate: number | undefined;
  let fixedPercent = 50;
  let curvePercents = [25, 75, 90];
  let rateDurationS = 12;
  let stepDurationS = 5;
  let pollMs = 20;
  let preferWaitS = 10;
  let targetRate = 200;
  let faults: FaultChoice[] = [...FAULT_KINDS];
  let slowMs = 100;
  const slowSpecs: Array<[string, string, number]> = [];
  let nats: 'private' | 'shared' = 'private';
  let seed = 42;
  let parts = new Set<Part>(PARTS);
  let faultMs = 3_000;
  let faultModule = 'inventory';
  let out: string | undefined;
  let keepDatabases = false;
  let spread = 64;
  let hostsDelayMs = 0.5;
  let help = false;
  const env: Record<string, string> = {};
  const perTopology: Array<[string, string, string]> = [];

  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const flag = eq > 0 && VALUED.has(raw.slice(0, eq)) ? raw.slice(0, eq) : raw;
    const inline = flag !== raw ? raw.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`${flag} expects a value`);
      return next;
    };
    switch (flag) {
      case '-h':
      case '--help':
        help = true;
        break;
      case '--topologies': {
        topologies = value()
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);
        if (topologies.length === 0) throw new UsageError('--topologies expects a comma list of topologies');
        const seen = new Set<string>();
        for (const t of topologies) {
          if (seen.has(t)) throw new UsageError(`--topologies: '${t}' is listed twice`);
          seen.add(t);
        }
        break;
      }
      case '--only': {
        const list = value()
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean);
        for (const p of list) {
          if (!(PARTS as readonly string[]).includes(p) && !(p in ALIASES))
            throw new UsageError(`--only: unknown part '${p}' (known: ${PARTS.join(', ')}, performance)`);
        }
        if (list.length === 0) throw new UsageError(`--only expects a comma list of ${PARTS.join(', ')}`);
        parts = new Set(list.flatMap((p) => ALIASES[p] ?? [p as Part]));
        break;
      }
      case '--rate':
        rate = number(flag, value(), 1, 100_000);
        break;
      case '--fixed-percent':
        fixedPercent = number(flag, value(), 1, 100);
        break;
      case '--curve': {
        const text = value();
        curvePercents = text.split(',').map((p) => number(flag, p.trim(), 1, 150));
        break;
      }
      case '--rate-duration':
        rateDurationS = number(flag, value(), 1, 600);
        break;
      case '--step-duration':
        stepDurationS = number(flag, value(), 1, 600);
        break;
      case '--poll-ms':
        pollMs = integer(flag, value(), 1, 10_000);
        break;
      case '--prefer-wait':
        preferWaitS = integer(flag, value(), 0, 30);
        break;
      case '--target-rate':
        targetRate = number(flag, value(), 1, 1_000_000);
        break;
      case '--faults': {
        const list = value()
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean);
        for (const f of list)
          if (!(FAULT_KINDS as readonly string[]).includes(f)) throw new UsageError(`--faults: unknown fault '${f}' (known: ${FAULT_KINDS.join(', ')})`);
        faults = list as FaultChoice[];
        break;
      }
      case '--slow-ms':
        slowMs = integer(flag, value(), 1, 60_000);
        break;
      case '--slow': {
        const spec = value();
        const match = /^([a-z0-9][a-z0-9_-]*):([a-z][a-z0-9_]*)=(\d+)$/.exec(spec);
        if (!match) throw new UsageError(`--slow: expected TOPOLOGY:MODULE=MS, got '${spec}'`);
        slowSpecs.push([match[1], match[2], integer(flag, match[3], 1, 60_000)]);
        break;
      }
      case '--nats': {
        const v = value();
        if (v !== 'private' && v !== 'shared') throw new UsageError(`--nats: expected private or shared, got '${v}'`);
        nats = v;
        break;
      }
      case '--duration':
        durationS = number(flag, value(), 1, 600);
        break;
      case '--concurrency':
        concurrency = integer(flag, value(), 1, 1000);
        break;
      case '--seed':
        seed = integer(flag, value(), 0, 2 ** 31 - 1);
        break;
      case '--fault-ms':
        faultMs = integer(flag, value(), 100, 120_000);
        break;
      case '--fault-module': {
        faultModule = value();
        if (!/^[a-z][a-z0-9_]*$/.test(faultModule)) throw new UsageError(`--fault-module: '${faultModule}' is not a module name`);
        break;
      }
      case '--env': {
        const spec = value();
        const scoped = /^([a-z0-9][a-z0-9_-]*):([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(spec);
        const global = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(spec);
        if (scoped) perTopology.push([scoped[1], scoped[2], scoped[3]]);
        else if (global) env[global[1]] = global[2];
        else throw new UsageError(`--env: expected KEY=VALUE or TOPOLOGY:KEY=VALUE, got '${spec}'`);
        break;
      }
      case '--out':
        out = value();
        break;
      case '--keep-databases':
        keepDatabases = true;
        break;
      case '--spread':
        spread = integer(flag, value(), 0, 10_000);
        break;
      case '--hosts-delay-ms':
        hostsDelayMs = number(flag, value(), 0, 1_000);
        break;
      default:
        throw new UsageError(`unknown option '${raw}' (see --help)`);
    }
  }
  const topologyEnv: Record<string, Record<string, string>> = {};
  for (const [topology, key, val] of perTopology) {
    if (!topologies.includes(topology)) {
      throw new UsageError(`--env ${topology}:${key}=...: '${topology}' is not among the topologies compared (${topologies.join(', ')})`);
    }
    (topologyEnv[topology] ??= {})[key] = val;
  }
  const slow: Record<string, Record<string, number>> = {};
  for (const [topology, module, ms] of slowSpecs) {
    if (!topologies.includes(topology))
      throw new UsageError(`--slow ${topology}:${module}=...: '${topology}' is not among the topologies compared (${topologies.join(', ')})`);
    (slow[topology] ??= {})[module] = ms;
  }
  return {
    topologies,
    durationS,
    concurrency,
    rate,
    fixedPercent,
    curvePercents,
    rateDurationS,
    stepDurationS,
    pollMs,
    preferWaitS,
    targetRate,
    faults,
    slowMs,
    slow,
    nats,
    seed,
    parts,
    faultMs,
    faultModule,
    env,
    topologyEnv,
    out,
    keepDatabases,
    spread,
    hostsDelayMs,
    help,
  };
}

function number(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag}: expected a number from ${min} to ${max}, got '${text}'`);
  return n;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = number(flag, text, min, max);
  if (!Number.isInteger(n)) throw new UsageError(`${flag}: expected an integer from ${min} to ${max}, got '${text}'`);
  return n;
}
