import { randomBytes, randomInt } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres.js';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { freePortRange } from '../../tools/support/network.js';
import { prng } from '../../tools/support/stats.js';
import { TopologyProcesses } from '../../tools/topology/topology-processes.js';
import { checkoutConfirms, deadProcesses, startCheckoutLoad, stockProducts } from '../support/checkout-load.js';
import { freePort } from '../support/free-port.js';
import { NATS_URL } from '../support/nats.js';
import { describeEachTopology } from '../support/needs-nats.js';
import { assertStoreInvariants, waitForQuiet } from '../support/store-invariants.js';
import { createTestDatabase } from '../support/test-database.js';

/**
 * PostgreSQL going away under a checkout load, in every topology, with the
 * built store in real processes: every connection of the store is terminated
 * (57P01, what a restart sends to every backend), or a private server is
 * restarted. Afterwards every process still runs, every accepted order ends
 * CONFIRMED or CANCELLED with its notification, a new checkout confirms, and
 * the invariants of store-api.md hold. The moments are drawn from a seed,
 * printed (PG_FAULT_SEED=<seed> replays a schedule's timings): a crash that
 * depends on what a connection was doing when it died shows in one schedule
 * of several, so each run tries several moments.
 */
const SEED = Number(process.env.PG_FAULT_SEED ?? randomInt(2 ** 31));
const MODULES = ['inventory', 'notifications', 'orders', 'payments', 'shipping'];

/** Output of every process, the last lines of each kept for a failure's message, and every error line (a 500's stack). */
function processOutput(): { onLine: (name: string, line: string) => void; tail: () => string; errors: () => string } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    onLine: (name, line) => {
      // PG_FAULT_LOG=<file>: every line of every process, for a look at a slow recovery.
      if (process.env.PG_FAULT_LOG) appendFileSync(process.env.PG_FAULT_LOG, `${new Date().toISOString()} ${name}| ${line}\n`);
      lines.push(`${name}| ${line}`);
      if (lines.length > 400) lines.splice(0, lines.length - 400);
      if (/"level":"error"|\bERROR\b/.test(line) && errors.length < 40) errors.push(`${name}| ${line}`);
    },
    tail: () => lines.slice(-80).join('\n'),
    errors: () => errors.join('\n'),
  };
}

/** A line of the test's own in PG_FAULT_LOG, beside the processes' (when set). */
function logFault(line: string): void {
  if (process.env.PG_FAULT_LOG) appendFileSync(process.env.PG_FAULT_LOG, `${new Date().toISOString()} test| ${line}\n`);
}

/** With PG_FAULT_LOG: every 500 ms, each process's saga, admission and call metrics, into the log (what a recovery waits for). */
function sampleMetrics(topology: TopologyProcesses): { stop: () => void } {
  if (!process.env.PG_FAULT_LOG) return { stop: () => {} };
  const wanted = /^(saga_in_flight|saga_completions|saga_admission_refused|checkout_|module_call_duration_seconds_count|saga_outcomes|nats_)/;
  const timer = setInterval(() => {
    for (const [name, running] of topology.processes) {
      fetch(`http://127.0.0.1:${running.port}/metrics`, { signal: AbortSignal.timeout(400) })
        .then(async (response) => {
          const lines = (await response.text()).split('\n').filter((line) => wanted.test(line));
          logFault(`${name} metrics ${lines.join(' | ')}`);
        })
        .catch((error: Error) => logFault(`${name} metrics unavailable: ${error.message}`));
    }
  }, 500);
  return { stop: () => clearInterval(timer) };
}

/**
 * Only answers docs/api.md allows a checkout without an Idempotency-Key: a lost connection is a 503
 * with Retry-After, never another 5xx; and never 200 (a repeat of the client's own key, which it has none of).
 */
function expectNoServerErrorButUnavailable(statuses: ReadonlyMap<number, number>, errors: () => string): void {
  const others = [...statuses].filter(([status]) => (status >= 500 && status !== 503) || status === 200);
  if (others.length > 0) throw new Error(`answers a checkout without a key must not get: ${JSON.stringify(Object.fromEntries(others))}\n${errors()}`);
}

async function startStore(topology: string, databaseUrl: string, prefix: string, onLine: (name: string, line: string) => void) {
  return TopologyProcesses.start({
    topology,
    modules: MODULES,
    port: await freePortRange(MODULES.length + 2),
    ownDatabases: false,
    databaseUrl,
    // Six processes starting at once on a busy two-core machine may take a while.
    startTimeoutMs: 180_000,
    env: { LOG_LEVEL: 'warn', NATS_URL, NATS_SUBJECT_PREFIX: prefix, REMOTE_CALL_TIMEOUT_MS: '1000', CHECKOUT_STEP_TIMEOUT_MS: '2000' },
    onLine,
  });
}

/** Starts the topology, or fails with what its processes said. */
async function startOrExplain(topology: string, databaseUrl: string, prefix: string, output: ReturnType<typeof processOutput>) {
  try {
    return await startStore(topology, databaseUrl, prefix, output.onLine);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${output.tail()}`, { cause: error });
  }
}

/** Terminates every connection to the store's database but this one: exactly what a restart does to each. */
async function terminateStoreConnections(adminUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    return rows[0].n;
  } finally {
    await client.end();
  }
}

/** After the faults: nobody died, everything accepted settled with its notification, checkouts work, invariants hold. */
async function expectRecovered(topology: TopologyProcesses, adminUrl: string, accepted: readonly string[], tail: () => string) {
  const dead = deadProcesses(topology);
  if (dead.length > 0) throw new Error(`process(es) exited: ${dead.join(', ')}\n${tail()}`);
  const counts = await waitForQuiet(adminUrl, 90_000).catch((error: Error) => {
    throw new Error(`${error.message}\n${tail()}`);
  });
  expect(counts.PENDING).toBeUndefined();
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; status: string }>('SELECT id, status FROM orders.orders WHERE id = ANY($1)', [accepted]);
    expect(rows.length).toBe(accepted.length);
    expect(rows.filter((row) => !['CONFIRMED', 'CANCELLED'].includes(row.status))).toEqual([]);
  } finally {
    await client.end();
  }
  await assertStoreInvariants(adminUrl);
  expect(deadProcesses(topology)).toEqual([]);
}

/** The load running, stopped after each test too, when one fails midway (else jest never exits). */
let load: ReturnType<typeof startCheckoutLoad> | undefined;
afterEach(async () => {
  await load?.stop();
  load = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachTopology(['monolith', 'inventory-extracted', 'microservices'] as const, 'every connection of %s terminated under load', (name) => {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const output = processOutput();
  let topology: TopologyProcesses | undefined;
  let databaseUrl: string;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const database = await createTestDatabase();
    databaseUrl = database.url;
    drop = database.drop;
    topology = await startOrExplain(name, databaseUrl, prefix, output);
  }, 240_000);

  afterAll(async () => {
    await topology?.stop();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
    await drop?.();
  });

  it('keeps every process, settles every order, and checkouts confirm again', async () => {
    const random = prng(SEED);
    console.log(`${name}: PG_FAULT_SEED=${SEED}`);
    const url = topology!.gatewayUrl;
    await stockProducts(url);
    load = startCheckoutLoad(url, 6);
    // Several moments per run: idle pooled connections, a LISTEN, a transaction in flight, a lease held.
    let terminated = 0;
    for (let round = 0; round < 5; round++) {
      await sleep(200 + random() * 1200);
      terminated += await terminateStoreConnections(databaseUrl);
      // Sometimes again at once: a connection that just reconnected dies too.
      if (random() < 0.4) terminated += await terminateStoreConnections(databaseUrl);
    }
    const lastFault = performance.now();
    // Under the load still running: a new checkout goes through end to end.
    const confirmedAt = await checkoutConfirms(url, 60_000).catch((error: Error) => {
      throw new Error(`no checkout confirmed after the faults: ${error.message}; exited: ${deadProcesses(topology!).join(', ') || 'none'}\n${output.tail()}`);
    });
    await load.stop();
    console.log(
      `${name}: ${terminated} connections terminated in 5 rounds; answers ${JSON.stringify(Object.fromEntries(load.statuses))}; ` +
        `a checkout confirmed ${Math.round(confirmedAt - lastFault)} ms after the last termination`,
    );
    expect(terminated).toBeGreaterThan(0);
    expect(load.accepted.length).toBeGreaterThan(0);
    expectNoServerErrorButUnavailable(load.statuses, output.errors);
    await expectRecovered(topology!, databaseUrl, load.accepted, output.tail);
  }, 240_000);
});

describeEachTopology(['monolith', 'microservices'] as const, 'a private PostgreSQL restarted under a checkout load (%s)', (name) => {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const output = processOutput();
  let dataDir: string;
  let port: number;
  let server: EmbeddedServer | undefined;
  let topology: TopologyProcesses | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mf-pg-restart-'));
    port = await freePort();
    server = await startEmbeddedPostgres({ dataDir, port });
    topology = await startOrExplain(name, server.url, prefix, output);
  }, 300_000);

  afterAll(async () => {
    await topology?.stop();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every process, settles every order, and checkouts confirm again', async () => {
    const random = prng(SEED + 1);
    console.log(`${name}: PG_FAULT_SEED=${SEED}`);
    const adminUrl = server!.url;
    const url = topology!.gatewayUrl;
    await stockProducts(url);
    load = startCheckoutLoad(url, 6);
    const recoveries: number[] = [];
    const sampling = sampleMetrics(topology!);
    for (let round = 0; round < 2; round++) {
      await sleep(300 + random() * 2000);
      // A fast shutdown: every backend gets 57P01, then nothing answers until the start.
      logFault(`stopping PostgreSQL (round ${round + 1})`);
      await server!.stop();
      server = undefined;
      await sleep(2000 + random() * 3000);
      server = await startEmbeddedPostgres({ dataDir, port });
      logFault(`PostgreSQL back (round ${round + 1})`);
      const back = performance.now();
      // Under the load still running: a new checkout goes through end to end.
      const confirmedAt = await checkoutConfirms(url, 60_000).catch((error: Error) => {
        throw new Error(
          `no checkout confirmed after restart ${round + 1}: ${error.message}; exited: ${deadProcesses(topology!).join(', ') || 'none'}\n${output.tail()}`,
        );
      });
      recoveries.push(Math.round(confirmedAt - back));
    }
    await sleep(500);
    sampling.stop();
    await load.stop();
    console.log(
      `${name}: 2 restarts; answers ${JSON.stringify(Object.fromEntries(load.statuses))}; ` +
        `a checkout confirmed ${recoveries.join(' ms and ')} ms after PostgreSQL was back`,
    );
    expect(load.accepted.length).toBeGreaterThan(0);
    expectNoServerErrorButUnavailable(load.statuses, output.errors);
    await expectRecovered(topology!, adminUrl, load.accepted, output.tail);
  }, 300_000);
});
