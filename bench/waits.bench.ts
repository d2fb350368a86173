import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { cpuMs } from '../tools/support/proc.js';
import { benchDatabase } from './support/bench-database.js';
import { percentile, option, printTable } from './support/stats.js';
import { type RunningProcess, servingPort, start, stop } from './support/store-process.js';
import { SagaStore } from '../src/platform/sagas/saga-store.js';
import { awaitEntry } from '../test/fixtures/waits/src/modules/waiter/waiter.module.js';

/**
 * What waiting costs (issue 24, ADR 29), in one run, on the waits fixture
 * (ledger publishes EntryRecorded; waiter's saga `await-entry` waits for one
 * by account, with a deadline) run as a process of its own, as `npm start` runs the store:
 *
 * 1. idle, nothing waiting: for --idle s (after a VACUUM ANALYZE of the saga
 *    tables, so that autovacuum's one-off work on new rows is not counted), the
 *    store's CPU, the CPU of the Postgres backends serving its connections, its
 *    connections (sampled), and the transactions its database commits per second;
 * 2. the same with --waiting instances (10 000) waiting (started through the
 *    saga's own start statement and moved into their wait by the runner), each
 *    for an hour: a wait is a row, so this should cost what 1 costs;
 * 3. timers under load: --timers more instances whose waits fall due spread
 *    over --window s (their `wake_at`/`next_run_at` set as a wait of that length
 *    sets them), while autocannon records ledger entries for --window + 5 s
 *    (every one an event through the outbox to waiter's inbox, a signal row
 *    for an account nobody waits for): how late each timer fired (the time of
 *    the statement that ended its wait, in its log, less its due time; both by
 *    the database's clock), p50/p99/max, and how many within 1 s.
 *
 * Usage: npm run bench:waits [-- --waiting 10000 --idle 15 --timers 1000 --window 10 --connections 8]
 * With DATABASE_URL, on that server (a fresh database); else an embedded one.
 */

const WAITING = option('waiting', 10_000);
const IDLE_S = option('idle', 15);
const TIMERS = option('timers', 1_000);
const WINDOW_S = option('window', 10);
const CONNECTIONS = option('connections', 8);
const MAIN = fileURLToPath(new URL('../test/fixtures/waits/waits-main.js', import.meta.url));
const HOUR_MS = 3_600_000;

interface Idle {
  readonly storeCpuMsPerS: number;
  readonly backendsCpuMsPerS: number;
  readonly connections: number;
  readonly maxActive: number;
  readonly commitsPerS: number;
}

async function main(): Promise<void> {
  const database = await benchDatabase('mf_bench_waits');
  const admin = new pg.Client({ connectionString: database.url });
  let store: RunningProcess | undefined;
  try {
    await admin.connect();
    const [{ server_version: version }] = (await admin.query<{ server_version: string }>('SHOW server_version')).rows;
    store = start(process.execPath, [MAIN], {
      ...process.env,
      DATABASE_URL: database.url,
      PORT: '0',
      WAITER_DEADLINE_MS: String(HOUR_MS),
    });
    const port = await servingPort(store);
    const pid = store.child.pid!;
    console.error(`waits bench: node ${process.version}, PostgreSQL ${version}, store pid ${pid}; ${WAITING} waiting, ${TIMERS} timers over ${WINDOW_S} s`);
    const dbName = new URL(database.url).pathname.slice(1);
    const starts = new SagaStore(awaitEntry, undefined as never, undefined as never, 'waiter');

    /** Starts `n` instances keyed `<prefix>-i` in one statement (as waiter's own statement would), then waits until all wait. */
    const startWaiting = async (prefix: string, n: number): Promise<void> => {
      await admin.query(
        `WITH ${starts.startSql({ key: `'${prefix}-' || g`, deadlineMs: 'NULL::int', traceContext: `'{}'::jsonb`, leaseMs: 'NULL::int' }, 'FROM generate_series(1, $1::int) g')} SELECT 1`,
        [n],
      );
      for (;;) {
        const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM waiter.sagas WHERE key LIKE $1 AND status = 'WAITING'`, [
          `${prefix}-%`,
        ]);
        if (rows[0].n === n) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };

    const idle = async (label: string): Promise<Idle> => {
      console.error(`  ${label}: ${IDLE_S} s idle`);
      // The one-off vacuum and analyze of rows just written is not what waiting costs: done first, by hand.
      await admin.query('VACUUM ANALYZE waiter.sagas, waiter.saga_log, waiter.saga_signals');
      // Idle backends report their statistics at most every 10 s (PostgreSQL 15): what came before must be in before the phase starts.
      await new Promise((resolve) => setTimeout(resolve, 12_000));
      // The store's connections only (not autovacuum workers, not this one).
      const backends = async () =>
        (
          await admin.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
            [dbName],
          )
        ).rows.map((row) => row.pid);
      const commits = async () =>
        Number((await admin.query<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [dbName])).rows[0].n);
      // Per backend: one that a pool opened during the phase counts whole, one that closed is read at its last sample.
      const backendCpu = new Map<number, { first: number; last: number }>();
      const sampleBackends = async () => {
        for (const backend of await backends()) {
          const used = cpuMs(backend);
          if (used === undefined) continue;
          const known = backendCpu.get(backend);
          backendCpu.set(backend, { first: known?.first ?? (sampled ? 0 : used), last: used });
        }
      };
      let sampled = false;
      await sampleBackends();
      sampled = true;
      const before = { at: performance.now(), store: cpuMs(pid) ?? 0, commits: await commits() };
      let connections = 0;
      let maxActive = 0;
      const until = performance.now() + IDLE_S * 1000;
      while (performance.now() < until) {
        const { rows } = await admin.query<{ total: number; active: number }>(
          `SELECT count(*)::int AS total, count(*) FILTER (WHERE state <> 'idle')::int AS active FROM pg_stat_activity
            WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
          [dbName],
        );
        connections = Math.max(connections, rows[0].total);
        maxActive = Math.max(maxActive, rows[0].active);
        await sampleBackends();
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      await sampleBackends();
      const seconds = (performance.now() - before.at) / 1000;
      // The sampling queries above are this connection's, not counted in CPU; their commits are (4 per second), and subtracted.
      const samples = 2 * Math.ceil((IDLE_S * 1000) / 500) + 2;
      return {
        storeCpuMsPerS: ((cpuMs(pid) ?? 0) - before.store) / seconds,
        backendsCpuMsPerS: [...backendCpu.values()].reduce((sum, cpu) => sum + cpu.last - cpu.first, 0) / seconds,
        connections,
        maxActive,
        commitsPerS: Math.max(0, (await commits()) - before.commits - samples - 1) / seconds,
      };
    };

    const empty = await idle('nothing waiting');
    console.error(`  starting ${WAITING} waiting instances`);
    const startedAt = performance.now();
    await startWaiting('idle', WAITING);
    const startSeconds = (performance.now() - startedAt) / 1000;
    const full = await idle(`${WAITING} waiting`);

    // Timers under load.
    console.error(`  ${TIMERS} timers due over ${WINDOW_S} s, under load`);
    await startWaiting('timer', TIMERS);
    const { rows: dueRows } = await admin.query<{ key: string; due: Date }>(
      `UPDATE waiter.sagas s SET wake_at = now() + make_interval(secs => 2 + $1::float8 * t.n / $2::float8), next_run_at = now() + make_interval(secs => 2 + $1::float8 * t.n / $2::float8)
         FROM (SELECT key, row_number() OVER (ORDER BY key) AS n FROM waiter.sagas WHERE key LIKE 'timer-%') t
        WHERE s.saga = 'await-entry' AND s.key = t.key
       RETURNING s.key, s.wake_at AS due`,
      [WINDOW_S, TIMERS],
    );
    const due = new Map(dueRows.map((row) => [row.key, row.due.getTime()]));
    let n = 0;
    const load = await autocannon({
      url: `http://127.0.0.1:${port}/ledger/entries`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      connections: CONNECTIONS,
      duration: WINDOW_S + 5,
      requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify({ accountId: `load-${n++ % 500}`, amount: 1 }) }) }],
    });
    for (;;) {
      const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM waiter.sagas WHERE key LIKE 'timer-%' AND status <> 'DONE'`);
      if (rows[0].n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const { rows: fired } = await admin.query<{ key: string; at: Date }>(
      `SELECT key, at FROM waiter.saga_log WHERE saga = 'await-entry' AND key LIKE 'timer-%' AND step = 'AWAIT_ENTRY' AND status = 'FAILED'`,
    );
    const lateness = fired.map((row) => row.at.getTime() - due.get(row.key)!).sort((a, b) => a - b);
    const [stillWaiting] = (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM waiter.sagas WHERE key LIKE 'idle-%' AND status = 'WAITING'`))
      .rows;

    console.log(`\nWaiting instances at rest (${IDLE_S} s each, same run; started ${WAITING} in ${startSeconds.toFixed(1)} s)\n`);
    printTable(
      ['', 'nothing waiting', `${WAITING} waiting`],
      [
        ['store CPU, ms per s', empty.storeCpuMsPerS, full.storeCpuMsPerS],
        ['its Postgres backends CPU, ms per s', empty.backendsCpuMsPerS, full.backendsCpuMsPerS],
        ['connections to its database (max sampled)', empty.connections, full.connections],
        ['of them not idle (max sampled)', empty.maxActive, full.maxActive],
        ['transactions committed per s in its database', empty.commitsPerS, full.commitsPerS],
      ],
    );
    console.log(
      `\nTimers under load: ${TIMERS} due over ${WINDOW_S} s, with ${WAITING} others waiting (${stillWaiting.n} still waiting after), ` +
        `ledger entries at ${load.requests.average.toFixed(0)} req/s (${CONNECTIONS} connections, ${load.non2xx} non-2xx)\n`,
    );
    printTable(
      ['fired', 'lateness p50 ms', 'p99 ms', 'max ms', 'within 1 s'],
      [
        [
          `${lateness.length} of ${TIMERS}`,
          percentile(lateness, 50),
          percentile(lateness, 99),
          lateness.at(-1) ?? Number.NaN,
          `${lateness.filter((ms) => ms <= 1_000).length}`,
        ],
      ],
    );
  } finally {
    if (store) await stop(store).catch((error: unknown) => console.error((error as Error).message));
    await admin.end().catch(() => {});
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(`waits bench: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});
