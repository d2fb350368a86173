import { planTopology } from '../topology/topologies.js';

export const USAGE = `usage: npm run explore -- [--seed N | --seeds A..B | --soak DURATION] [--topology T[,T...]] [options]

Runs seeded fault schedules against the store: checkouts (confirmable, declined, out of stock,
shipping unavailable) and customer cancellations, while processes are SIGKILLed or SIGSTOPped,
PostgreSQL and NATS restarted, links to NATS slowed or partitioned, a subscriber's table failing
or locked, deadlines expiring during an outage; then waits for the store to settle and checks
every invariant of docs/api.md and of the platform. Uses a PostgreSQL and a nats-server of its own.

  --seed N            one schedule, seed N (the same seed replays the same schedule)
  --seeds A..B        the seeds A to B (or a list: 1,5,9), each on every topology named
  --soak DURATION     random seeds until DURATION has passed (e.g. 60m, 1h, 90s)
  --topology T        monolith | extracted | microservices | replicas | all, or any name of
                      npm run topology (e.g. payments-extracted, microservices-replicas);
                      a comma list runs each (default microservices)
  --load DURATION     how long each schedule's load runs (default 20s)
  --settle DURATION   how long the store may take to settle afterwards (default 90s)
  --print             print the schedules and exit (nothing is started)
  --verbose           print every process's output
  --plant             plant a violation mid-run (checks the explorer itself: it must fail)
  --help              this text

Exit: 0 every invariant held, 1 a violation found (its seed printed), 2 a usage error.`;

/** extracted and replicas name one topology each; any other name is planTopology's. */
const ALIASES: Readonly<Record<string, string>> = {
  extracted: 'inventory-extracted',
  replicas: 'inventory-extracted-replicas',
};
const ALL = ['monolith', 'extracted', 'microservices', 'replicas'];

export interface ExploreOptions {
  readonly help: boolean;
  readonly seeds: readonly number[] | undefined;
  readonly soakMs: number | undefined;
  readonly topologies: readonly string[];
  readonly loadMs: number;
  readonly settleMs: number;
  readonly print: boolean;
  readonly verbose: boolean;
  readonly plant: boolean;
}

export class UsageError extends Error {}

export function parseOptions(argv: readonly string[], modules: readonly string[]): ExploreOptions {
  let seeds: number[] | undefined;
  let soakMs: number | undefined;
  let topologies = ['microservices'];
  let loadMs = 20_000;
  let settleMs = 90_000;
  const flags = { help: false, print: false, verbose: false, plant: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--help':
      case '-h':
        flags.help = true;
        break;
      case '--seed':
        seeds = [parseSeed(value())];
        break;
      case '--seeds':
        seeds = parseSeeds(value());
        break;
      case '--soak':
        soakMs = parseDuration(value(), '--soak');
        break;
      case '--topology':
        topologies = value()
          .split(',')
          .flatMap((t) => (t === 'all' ? ALL : [t]))
          .map((t) => ALIASES[t] ?? t);
        for (const t of topologies) {
          try {
            planTopology(t, modules);
          } catch (error) {
            throw new UsageError(`--topology: ${(error as Error).message}`);
          }
        }
        break;
      case '--load':
        loadMs = parseDuration(value(), '--load');
        if (loadMs < 5_000) throw new UsageError('--load: at least 5s (the faults need time to happen and heal)');
        break;
      case '--settle':
        settleMs = parseDuration(value(), '--settle');
        break;
      case '--print':
      case '--verbose':
      case '--plant':
        flags[arg.slice(2) as 'print' | 'verbose' | 'plant'] = true;
        break;
      default:
        throw new UsageError(`unknown argument '${arg}' (see --help)`);
    }
  }
  if (seeds && soakMs !== undefined) throw new UsageError('--soak runs random seeds: give it no --seed or --seeds');
  if (!seeds && soakMs === undefined && !flags.help) seeds = [1];
  return { ...flags, seeds, soakMs, topologies, loadMs, settleMs };
}

function parseSeed(text: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new UsageError(`not a seed: '${text}' (a non-negative integer)`);
  return Number(text);
}

function parseSeeds(text: string): number[] {
  const range = /^(\d{1,15})\.\.(\d{1,15})$/.exec(text);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from || to - from > 10_000) throw new UsageError(`--seeds: '${text}' is not a range of at most 10000 seeds`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  return text.split(',').map(parseSeed);
}

function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!match) throw new UsageError(`${flag}: not a duration: '${text}' (e.g. 90s, 60m, 1h)`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(match[1]) * unit);
}
