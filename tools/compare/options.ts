/**
 * The command line of `npm run compare`: parsed once, validated up front, so
 * that a bad option costs one clear line and exit code 2 before anything starts.
 */
export const PARTS = ['equivalence', 'performance', 'faults'] as const;
export type Part = (typeof PARTS)[number];

export const DEFAULT_TOPOLOGIES = ['monolith', 'inventory-extracted', 'microservices'] as const;

export interface CompareOptions {
  readonly topologies: readonly string[];
  /** Seconds of autocannon load per topology (performance). */
  readonly durationS: number;
  /** Connections of autocannon, and workers of the fault load. */
  readonly concurrency: number;
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
  readonly help: boolean;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run compare [-- options]

Brings each topology up in turn on a fresh database, replays one deterministic
checkout scenario against each and diffs what a client sees and the final state,
puts the same load on each, kills a process under load, and writes an HTML +
Markdown + JSON report.

  --topologies a,b,c   topologies to compare, the first is the reference
                       (default: ${DEFAULT_TOPOLOGIES.join(',')})
  --only parts         comma list of ${PARTS.join(', ')} (default: all)
  --duration S         seconds of load per topology (default 10)
  --concurrency N      connections of the load (default 16)
  --seed N             seed of the scenario's values and the fault load (default 42)
  --fault-ms MS        how long the killed process stays down (default 3000)
  --fault-module M     the module killed in distributed topologies (default inventory)
  --env KEY=VALUE      a variable for every process of every topology (repeatable)
  --env TOPOLOGY:KEY=VALUE
                       a variable for one topology's processes only (repeatable),
                       e.g. --env microservices:CHECKOUT_DEADLINE_MS=10
  --out DIR            report directory (default reports/compare-<timestamp>/)
  --keep-databases     do not drop the per-topology databases afterwards
  -h, --help           this text

Postgres: DATABASE_URL's server when set (a fresh database per topology), else an
embedded PostgreSQL started once (COMPARE_PG_PORT, default 54332; COMPARE_PG_DIR).
NATS: NATS_URL (default nats://127.0.0.1:4222); when unreachable the distributed
topologies are skipped, loudly. Needs the build: npm run build && npm run compare.
Exit: 0 done and identical, 1 done with differences or failed checks or an error, 2 bad options.`;

const VALUED = new Set(['--topologies', '--only', '--duration', '--concurrency', '--seed', '--fault-ms', '--fault-module', '--env', '--out']);

export function parseOptions(argv: readonly string[]): CompareOptions {
  let topologies: string[] = [...DEFAULT_TOPOLOGIES];
  let durationS = 10;
  let concurrency = 16;
  let seed = 42;
  let parts = new Set<Part>(PARTS);
  let faultMs = 3_000;
  let faultModule = 'inventory';
  let out: string | undefined;
  let keepDatabases = false;
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
        topologies = value().split(',').map((t) => t.trim()).filter(Boolean);
        if (topologies.length === 0) throw new UsageError('--topologies expects a comma list of topologies');
        const seen = new Set<string>();
        for (const t of topologies) {
          if (seen.has(t)) throw new UsageError(`--topologies: '${t}' is listed twice`);
          seen.add(t);
        }
        break;
      }
      case '--only': {
        const list = value().split(',').map((p) => p.trim()).filter(Boolean);
        for (const p of list) {
          if (!(PARTS as readonly string[]).includes(p)) throw new UsageError(`--only: unknown part '${p}' (known: ${PARTS.join(', ')})`);
        }
        if (list.length === 0) throw new UsageError(`--only expects a comma list of ${PARTS.join(', ')}`);
        parts = new Set(list as Part[]);
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
  return { topologies, durationS, concurrency, seed, parts, faultMs, faultModule, env, topologyEnv, out, keepDatabases, help };
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
