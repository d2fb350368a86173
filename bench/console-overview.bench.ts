import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfig } from '../src/platform/config/app-config.js';
import { ModuleDatabases } from '../src/platform/application/module-databases.js';
import { discoverModules } from '../src/platform/modules/module-discovery.js';
import { ModuleOperations } from '../src/platform/operations/module-operations.js';
import { performOperatorRequest } from '../src/platform/operations/operator-requests.js';
import { benchDatabase } from './support/bench-database.js';
import { option, percentile, printTable } from './support/stats.js';

/**
 * What an open operator console costs a module's database (ADR 40): one
 * overview (saga counts by definition/version/state, in flight, stuck, the
 * last ended of each definition, outbox stats, per-subscriber backlog, dead
 * letters) as the page asks for it every 2 s, against a sagas table holding
 * N ended sagas. No migration adds an index for it, so its counts and "ended
 * lately" read the whole table: this says from which size that matters.
 * Baseline, measured in the same run on the same database: the outbox stats
 * that every /metrics scrape and /health/events already read.
 *
 * Usage: npm run bench:console [-- --max-rows 1000000 --samples 30]
 */
const MAX_ROWS = option('max-rows', 1_000_000);
const SAMPLES = option('samples', 30);
const MODULE = 'orders';

async function time(samples: number, run: () => Promise<unknown>): Promise<number[]> {
  await run(); // warm: plans cached, pages in memory
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await run();
    ms.push(performance.now() - started);
  }
  return ms.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  const database = await benchDatabase('console_bench');
  const modules = (await discoverModules()).filter((module) => module.definition.name === MODULE);
  const config = loadConfig(
    { DATABASE_URL: database.url, MODULES: MODULE, LOG_LEVEL: 'error' },
    (await discoverModules()).map((m) => m.definition.name),
  );
  const databases = await ModuleDatabases.open(config, modules);
  const rows: Array<Array<string | number>> = [];
  try {
    const db = databases.get(MODULE);
    const operations = new ModuleOperations(db, MODULE);
    let inTable = 0;
    for (const size of [1_000, 10_000, 100_000, 1_000_000].filter((n) => n <= MAX_ROWS)) {
      // Ended checkouts, a few per second over the past days, and one stuck: what a store accumulates.
      await db.query(
        `INSERT INTO ${MODULE}.sagas (saga, key, step, status, failure_reason, updated_at, created_at)
         SELECT 'checkout', 'k-' || i, 'DONE', 'DONE', CASE WHEN i % 7 = 0 THEN 'OUT_OF_STOCK' END,
                now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval
           FROM generate_series($1::int, $2::int - 1) AS i`,
        [inTable, size],
      );
      inTable = size;
      await db.query(`ANALYZE ${MODULE}.sagas`);
      const overview = await time(SAMPLES, () => performOperatorRequest(operations, { op: 'overview' }, async () => []));
      const counts = await operations.sagaCounts();
      const done = counts.find((row) => row.status === 'DONE');
      console.log(`${size} ended sagas: DONE counted as ${done?.approximate ? '≈ ' : ''}${done?.count ?? 0}`);
      const baseline = await time(SAMPLES, () => operations.outboxStats());
      const p = (ms: number[], q: number) => percentile(ms, q);
      rows.push([
        size,
        p(overview, 50),
        p(overview, 99),
        1000 / (overview.reduce((a, b) => a + b, 0) / overview.length),
        p(baseline, 50),
        p(baseline, 99),
        p(overview, 50) / p(baseline, 50),
      ]);
    }
  } finally {
    await databases.close();
    await database.drop();
  }
  console.log(`\none console overview of module '${MODULE}' (${SAMPLES} samples each, sequential), against N ended sagas\n`);
  printTable(['ended sagas', 'overview p50 ms', 'overview p99 ms', 'overviews/s', 'baseline p50 ms (outbox stats)', 'baseline p99 ms', 'p50 ratio'], rows);
  console.log('\nThe page asks once per 2 s per open console, per module; a share of one core = p50 / 2000 ms.');
}

main().catch((error: unknown) => {
  console.error(`bench:console: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});
