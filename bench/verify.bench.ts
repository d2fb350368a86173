import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { verify } from '../tools/verify/verify.js';
import { mean, option, percentile, printTable } from './support/stats.js';

/**
 * How long `npm run verify` takes on the whole tree (the goal: under 10 s):
 * - the CLI as npm runs it, in a fresh process each time (Node start, loading
 *   TypeScript and dependency-cruiser, every rule, the baseline);
 * - in-process, phase by phase, to show where that time goes.
 *
 * Usage: npm run bench:verify [-- --runs N]   (default 5 runs per case)
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../tools/verify/verify.cli.js', import.meta.url));

const RUNS = option('runs', 5);

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`no build at ${CLI}: run \`npm run build\``);
  console.error(`verify bench: ${RUNS} runs per case, node ${process.version}, ${cpus().length} CPUs`);

  const bareNode = repeat(RUNS, () => spawnSync(process.execPath, ['-e', '0']));
  const cli = repeat(RUNS, () => {
    const run = spawnSync(process.execPath, [CLI, '--root', REPO], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`verify failed on the tree (exit ${run.status}):\n${run.stdout}${run.stderr}`);
  });

  // In-process: the first run pays for loading and compiling; the phases are averaged over all runs.
  const phases = new Map<string, number[]>();
  const total: number[] = [];
  let files = 0;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    const result = await verify({ root: REPO });
    total.push(performance.now() - start);
    files = result.filesCruised;
    for (const [phase, ms] of Object.entries(result.timings)) phases.set(phase, [...(phases.get(phase) ?? []), ms]);
  }

  const row = (name: string, ms: number[]) => [name, ms.length, ...[percentile(ms, 50), Math.max(...ms), Math.min(...ms), mean(ms)]];
  printTable(
    ['case', 'runs', 'p50 ms', 'max ms', 'min ms', 'mean ms'],
    [
      row('node -e "0" (bare Node start)', bareNode),
      row(`npm run verify: whole tree, fresh process (${files} files)`, cli),
      row('in-process verify(), all phases', total),
      ...[...phases].map(([phase, ms]) => row(`  phase: ${phase}`, ms)),
    ],
  );
}

function repeat(runs: number, run: () => void): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    run();
    samples.push(performance.now() - start);
  }
  return samples;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
