import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckoutSummary } from './checkout.bench.js';
import { mean, option, percentile, printTable } from './support/stats.js';

/**
 * What a subscriber costs the checkout, in one command: bench/checkout.bench.ts
 * on this build and on the same build without the subscribing module
 * (`--without`), alternating in pairs so that a disturbance of the machine
 * weighs on both sides; then each side's mean and the ratio against #12's
 * targets (with the subscriber: at least 90% of the throughput without it,
 * p50 end to end at most 12x one outbox transaction).
 *
 * Each pair's own ratio is shown too, and what the machine's CPU spent per
 * checkout under load on each side: on this shared two-core machine whole
 * runs vary by a fifth (both sides alike), so a pair, run back to back, is
 * the fairer comparison, and CPU per checkout the quieter one.
 *
 * Usage: npm run bench:subscriber-cost [-- --pairs 3 --module notifications --duration 10 --products 1]
 * The environment reaches both sides, e.g. CHECKOUT_ADMISSION_MIN_IN_FLIGHT=100000 to
 * compare capacity without the in-flight bound's refusals.
 */
const PAIRS = option('pairs', 3);
const MODULE = process.argv.includes('--module') ? process.argv[process.argv.indexOf('--module') + 1] : 'notifications';
const DURATION_S = option('duration', 10);
const PRODUCTS = option('products', 1);
const CHECKOUT_BENCH = fileURLToPath(new URL('./checkout.bench.js', import.meta.url));
const TARGET_SHARE = 0.9;
const TARGET_RATIO = 12;

interface Run extends CheckoutSummary {
  readonly side: 'with' | 'without';
  readonly pair: number;
}

async function main(): Promise<void> {
  if (!/^[a-z][a-z0-9-]*$/.test(MODULE)) throw new Error(`--module: '${MODULE}' is not a module name`);
  const scratch = mkdtempSync(join(tmpdir(), 'mf-subscriber-cost-'));
  const runs: Run[] = [];
  try {
    for (let pair = 1; pair <= PAIRS; pair++) {
      for (const side of ['without', 'with'] as const) {
        console.error(`subscriber cost: pair ${pair} of ${PAIRS}, ${side} ${MODULE}`);
        const file = join(scratch, `${pair}-${side}.json`);
        await checkout([...(side === 'without' ? ['--without', MODULE] : []), '--duration', String(DURATION_S), '--products', String(PRODUCTS), '--summary-file', file]);
        runs.push({ side, pair, ...(JSON.parse(readFileSync(file, 'utf8')) as CheckoutSummary) });
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const sides = (side: Run['side']) => runs.filter((run) => run.side === side);
  const busy = (run: Run) => (run.busyBefore === null ? '?' : `${run.busyBefore.toFixed(0)}%`);
  const products = PRODUCTS === 1 ? 'one product' : `${PRODUCTS} products`;
  console.log(`\nWhat subscribing ${MODULE} costs the checkout (${PAIRS} alternating pairs; load ${DURATION_S} s each, ${products})\n`);
  const partner = (run: Run) => runs.find((other) => other.pair === run.pair && other.side !== run.side);
  const pairShare = (run: Run) => {
    const without = partner(run);
    return run.side === 'with' && without ? `${((100 * run.completedPerSecond) / without.completedPerSecond).toFixed(1)}%` : '';
  };
  const cpu = (run: Run) => (run.machineCpuMsUnderLoad === null ? '?' : run.machineCpuMsUnderLoad);
  printTable(
    ['run', 'machine busy before', 'completed checkouts/s', 'of the pair\'s without', 'machine CPU ms per checkout under load', 'p50 end to end / outbox tx', 'write tx per checkout, sequential', 'under load'],
    runs.map((run) => [`pair ${run.pair}, ${run.side} ${MODULE}`, busy(run), run.completedPerSecond, pairShare(run), cpu(run), `${run.p50Ratio.toFixed(1)}x`, run.xidsSequential, run.xidsUnderLoad]),
  );
  const withRate = mean(sides('with').map((run) => run.completedPerSecond));
  const withoutRate = mean(sides('without').map((run) => run.completedPerSecond));
  const share = withRate / withoutRate;
  const worstRatio = Math.max(...sides('with').map((run) => run.p50Ratio));
  const pairShares = sides('with').map((run) => run.completedPerSecond / partner(run)!.completedPerSecond);
  const cpuOf = (side: Run['side']) => mean(sides(side).map((run) => run.machineCpuMsUnderLoad ?? Number.NaN));
  console.log('');
  printTable(
    ['target', 'target', 'measured', 'met'],
    [
      [`completed checkouts/s with ${MODULE} / without (means)`, `>= ${TARGET_SHARE * 100}%`, `${(share * 100).toFixed(1)}% (${withRate.toFixed(0)} / ${withoutRate.toFixed(0)})`, share >= TARGET_SHARE ? 'yes' : 'NO'],
      [`p50 end to end / outbox tx with ${MODULE}, worst run`, `<= ${TARGET_RATIO}x`, `${worstRatio.toFixed(1)}x`, worstRatio <= TARGET_RATIO ? 'yes' : 'NO'],
    ],
  );
  console.log('');
  printTable(
    ['also', 'measured'],
    [
      ['pairs: with / without, median by nearest rank (range)', `${(100 * percentile(pairShares, 50)).toFixed(1)}% (${(100 * Math.min(...pairShares)).toFixed(1)}-${(100 * Math.max(...pairShares)).toFixed(1)}%)`],
      ['machine CPU per checkout under load: without / with (means)', `${((100 * cpuOf('without')) / cpuOf('with')).toFixed(1)}% (${cpuOf('without').toFixed(2)} / ${cpuOf('with').toFixed(2)} ms)`],
    ],
  );
  const busyRuns = runs.filter((run) => run.busyBefore !== null && run.busyBefore > 20);
  if (busyRuns.length > 0) console.log(`\n${busyRuns.length} run(s) started on a busy machine (> 20% of one core): their pairs are skewed`);
}

/** One checkout bench in a process of its own; its tables go to stderr here, the summary to the file. */
function checkout(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHECKOUT_BENCH, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`the checkout bench ${args.join(' ')} ended with ${signal ?? `exit code ${code}`}`))));
  });
}

main().catch((error: unknown) => {
  console.error(`bench:subscriber-cost: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});
