import type { Difference } from './diff.js';
import type { FaultResult } from './faults.js';
import type { LoadResult } from './load.js';
import type { RatePoint } from './rate-load.js';

/** results.json: everything the reports are drawn from, stable enough to diff in CI. */
export interface CompareResults {
  readonly tool: 'monolith-first compare';
  readonly schemaVersion: 2;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly wallSeconds: number;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly node: string;
    readonly platform: string;
    readonly database: string;
    /** Which processes the "postgres" CPU counts. */
    readonly postgresCpu: string;
    /** How busy the machine was in the 2 s before the run, % of one core (other workloads). */
    readonly busyBeforeRunPercentOfCore: number | null;
    readonly nats: string;
  };
  /** The offered rates: the slowest store topology's saturation throughput, the fixed rate, the curve's rates. */
  readonly rates: {
    readonly slowestCapacity: { readonly topology: string; readonly completedPerSecond: number } | null;
    readonly fixedRate: number;
    /** How the fixed rate was chosen. */
    readonly fixedRateFrom: string;
    readonly curve: readonly number[];
  } | null;
  /** Modules whose remote calls took far longer than the others' (or than the same module's elsewhere). */
  readonly slowModules: ReadonlyArray<{ readonly topology: string; readonly module: string; readonly meanMs: number; readonly comparedWith: string }>;
  readonly options: {
    readonly topologies: readonly string[];
    readonly parts: readonly string[];
    readonly durationS: number;
    readonly concurrency: number;
    readonly rateDurationS: number;
    readonly stepDurationS: number;
    readonly pollMs: number;
    /** Older results.json files lack it. */
    readonly preferWaitS?: number;
    readonly targetRate: number;
    readonly faults: readonly string[];
    readonly slowMs: number;
    readonly slow: Readonly<Record<string, Readonly<Record<string, number>>>>;
    readonly seed: number;
    readonly faultMs: number;
    readonly faultModule: string;
    readonly env: Readonly<Record<string, string>>;
    readonly topologyEnv: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** Products of the spread saturation run (0: none), and the links' delay of the @hosts topologies. */
    readonly spread?: number;
    readonly hostsDelayMs?: number;
  };
  readonly topologies: readonly TopologyResult[];
  readonly equivalence: EquivalenceResult | null;
  /** "microservices / monolith" -> measure -> ratio. */
  readonly ratios: Readonly<Record<string, Readonly<Record<string, number | null>>>>;
  /** Every check passed: equivalence identical (when run), fault proofs ok (when run), no topology failed. */
  readonly ok: boolean;
}

export interface TopologyResult {
  readonly name: string;
  readonly status: 'ran' | 'skipped' | 'failed';
  /** Why it was skipped or what failed. */
  readonly reason?: string;
  readonly processes: ReadonlyArray<{ readonly name: string; readonly modules: string; readonly gateway: boolean; readonly port: number }>;
  readonly extraEnv: Readonly<Record<string, string>>;
  readonly startupMs?: number;
  /** Wall time of each part for this topology, ms. */
  readonly phaseMs: Readonly<Record<string, number>>;
  /** unmet: steps whose answer is not the one the script names, and orders that never settled (scenario.ts, unmetExpectations). */
  readonly scenario?: { readonly steps: number; readonly invariantViolations: readonly string[]; readonly unmet: readonly string[] };
  /** The saturation run: closed loop, as many orders as the store accepts. */
  readonly performance?: LoadResult;
  /** The same saturation load spread over `options.spread` products (no single row lock to queue on). */
  readonly performanceSpread?: LoadResult;
  /** Open loop at fixed offered rates: the fixed rate's point, and the curve (by rate, the fixed one among them). */
  readonly latency?: {
    readonly fixedRate: number;
    /** The polling client (GET /orders/:id every --poll-ms), at every rate of the curve. */
    readonly points: readonly RatePoint[];
    /** The waiting client (`Prefer: wait=--prefer-wait`) at the fixed rate, for as long; null with --prefer-wait 0. */
    readonly waiting?: RatePoint | null;
  };
  readonly faults?: readonly FaultResult[];
  /** Module called remotely -> calls and mean time, ms, over the scenario and the fixed-rate point. */
  readonly remoteByModule?: Readonly<Record<string, { readonly calls: number; readonly meanMs: number }>>;
  /** The baseline (not a placement of the store): no scenario, no faults. */
  readonly baseline?: boolean;
  /** The last lines the processes wrote (LOG_LEVEL=error), when something failed. */
  readonly output?: readonly string[];
}

export interface EquivalenceResult {
  readonly reference: string;
  readonly verdict: 'identical' | 'different' | 'incomplete';
  readonly comparisons: ReadonlyArray<{
    readonly topology: string;
    readonly identical: boolean;
    readonly differences: readonly Difference[];
  }>;
  /** Topologies whose scenario could not run (skipped or failed). */
  readonly missing: readonly string[];
}
