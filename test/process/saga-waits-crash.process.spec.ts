import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { recordSignal } from '../../src/platform/sagas/saga-signals.js';
import { SagaStore } from '../../src/platform/sagas/saga-store.js';
import { awaitEntry } from '../fixtures/waits/src/modules/waiter/waiter.module.js';
import { eventually } from '../support/eventually.js';
import { type SpawnedStore, spawnStore, stopAllStores } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http } from '../support/test-store.js';

/**
 * Waits survive a SIGKILL (issue 24, "Done when"; ADR 29): the waits fixture
 * (ledger publishes EntryRecorded, waiter's saga waits for it by account, with
 * a deadline) runs as two built processes on one database. Forty instances
 * wait; the first process is SIGKILLed while entries are being recorded on
 * it; signals land while it is dead (through the other replica, and straight
 * into the table twice under one id, as a redelivery would); it is started
 * again and more signals come through it; the rest get none, and their
 * deadline passes. Every wait ends exactly once: by its signal if one was
 * recorded before its deadline, else by its deadline; a duplicate is counted
 * once; the waiter's own table (its effect) says the same.
 */

const WAITS_MAIN = fileURLToPath(new URL('../../dist/test/fixtures/waits/waits-main.js', import.meta.url));
const DEADLINE_MS = 12_000;
const KEYS = Array.from({ length: 40 }, (_, i) => `wait-${i}`);
/** By group of ten: A signalled on the victim as it is killed, B while it is dead, C never, D after its restart. */
const group = (key: string) => 'ABCD'[Math.floor(Number(key.split('-')[1]) / 10)];

describe('durable waits across a SIGKILL of the process that ran them', () => {
  let database: TestDatabase | undefined;
  let client: pg.Client | undefined;

  beforeAll(() => {
    if (!existsSync(WAITS_MAIN)) throw new Error(`no build at ${WAITS_MAIN}: run \`npm run build\` first`);
  });
  afterAll(async () => {
    await stopAllStores();
    await client?.end();
    await database?.drop();
  });

  it('every wait, on a timer or a signal, ends exactly once, taken up by a replica and by the restarted process', async () => {
    database = await createTestDatabase('mf_waits_crash');
    const env = { DATABASE_URL: database.url, WAITER_DEADLINE_MS: String(DEADLINE_MS) };
    const start = async (): Promise<{ store: SpawnedStore; base: { url: string } }> => {
      const store = spawnStore(env, { main: WAITS_MAIN });
      return { store, base: { url: `http://127.0.0.1:${await store.port()}` } };
    };
    const victim = await start();
    const replica = await start();
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const db = client;
    const rows = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await db.query<R>(sql, params)).rows;

    // Forty instances, started as waiter would start them (its statement), unleased: any runner takes them.
    const starting = new SagaStore(awaitEntry, undefined as never, undefined as never, 'waiter');
    for (const key of KEYS) {
      await db.query(`WITH ${starting.startSql({ key: '$1::text', deadlineMs: 'NULL::int', traceContext: `'{}'::jsonb`, leaseMs: 'NULL::int' })} SELECT 1`, [
        key,
      ]);
    }
    await eventually(async () => {
      const [waiting] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM waiter.sagas WHERE saga = 'await-entry' AND status = 'WAITING'`);
      expect(waiting.n).toBe(KEYS.length);
    }, 30_000);
    // Nothing holds a waiting instance: no lease.
    expect(await rows(`SELECT key FROM waiter.sagas WHERE status = 'WAITING' AND locked_until IS NOT NULL`)).toEqual([]);

    // A: entries recorded on the victim, and the victim killed while they are in flight.
    const answered = new Set<string>();
    const groupA = KEYS.filter((key) => group(key) === 'A').map(async (key, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 15));
      try {
        const response = await http(victim.base, 'POST', '/ledger/entries', { accountId: key, amount: 1 });
        if (response.status === 201) answered.add(key);
      } catch {
        // died with the victim: recorded or not, its wait must still end once
      }
    });
    // Killed once some of them are answered (their events committed, being delivered and signalled on the victim), the rest in flight.
    await eventually(async () => expect(answered.size).toBeGreaterThanOrEqual(4), 10_000, 1).catch(() => {});
    expect(await victim.store.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    await Promise.all(groupA);

    // B: while it is dead. Half through the replica's ledger; half straight into waiter's table, twice under one id.
    for (const key of KEYS.filter((key) => group(key) === 'B')) {
      if (Number(key.split('-')[1]) % 2 === 0) {
        expect((await http(replica.base, 'POST', '/ledger/entries', { accountId: key, amount: 1 })).status).toBe(201);
      } else {
        const direct = { query: async (sql: string, params: unknown[]) => (await db.query(sql, params)).rows } as never;
        const signal = { saga: 'await-entry', key, name: 'ledger.EntryRecorded', id: `redelivered-${key}` };
        expect(await recordSignal(direct, 'waiter', signal)).toBe(true);
        expect(await recordSignal(direct, 'waiter', signal)).toBe(false);
      }
    }

    // D: through the restarted process.
    const restarted = await start();
    for (const key of KEYS.filter((key) => group(key) === 'D')) {
      expect((await http(restarted.base, 'POST', '/ledger/entries', { accountId: key, amount: 1 })).status).toBe(201);
    }

    // C gets nothing: its deadline passes (the runners hold no timer for it: the row's wake_at is the timer).
    await eventually(
      async () => {
        const [open] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM waiter.sagas WHERE saga = 'await-entry' AND status <> 'DONE'`);
        expect(open.n).toBe(0);
      },
      90_000,
      200,
    );

    const sagas = await rows<{ key: string; failure_reason: string | null; outputs: Record<string, string>; signals: number }>(
      `SELECT key, failure_reason, outputs, signals FROM waiter.sagas WHERE saga = 'await-entry' ORDER BY key`,
    );
    const logs = await rows<{ key: string; entries: string[] }>(
      `SELECT key, array_agg(step || ' ' || status ORDER BY id) AS entries FROM waiter.saga_log WHERE saga = 'await-entry' GROUP BY key`,
    );
    const consumed = await rows<{ key: string; n: number }>(
      `SELECT key, count(*) FILTER (WHERE consumed_at IS NOT NULL)::int AS n FROM waiter.saga_signals WHERE saga = 'await-entry' GROUP BY key`,
    );
    // When each wait began (its log), and when its first signal was recorded: by the database's clock.
    const timing = await rows<{ key: string; began: Date; first_signal: Date | null }>(
      `SELECT l.key, min(l.at) AS began, (SELECT min(g.received_at) FROM waiter.saga_signals g WHERE g.saga = l.saga AND g.key = l.key) AS first_signal
         FROM waiter.saga_log l WHERE l.saga = 'await-entry' AND l.step = 'AWAIT_ENTRY' AND l.status = 'STARTED' GROUP BY l.saga, l.key`,
    );
    const outcomes = await rows<{ account_id: string; outcome: string }>('SELECT account_id, outcome FROM waiter.outcomes');
    const outcomeOf = new Map(outcomes.map((row) => [row.account_id, row.outcome]));
    const endings = { signal: 0, deadline: 0, signalAfterDeadline: 0 };
    for (const saga of sagas) {
      const entries = logs.find((log) => log.key === saga.key)?.entries ?? [];
      const ends = entries.filter((entry) => entry === 'AWAIT_ENTRY SUCCEEDED' || entry === 'AWAIT_ENTRY FAILED');
      const byDeadline = saga.outputs.AWAIT_ENTRY === 'TIMEOUT';
      endings[byDeadline ? 'deadline' : 'signal']++;
      const seen = {
        key: saga.key,
        group: group(saga.key),
        ends: ends.length,
        repeated: entries.filter((entry, index) => entries.indexOf(entry) !== index),
        endedBy: saga.outputs.AWAIT_ENTRY,
        failure: saga.failure_reason,
        consumed: consumed.find((row) => row.key === saga.key)?.n ?? 0,
        outcome: outcomeOf.get(saga.key),
      };
      // Once, by one or the other, and the waiter's own row says which.
      expect(seen).toMatchObject({
        ends: 1,
        repeated: [],
        consumed: byDeadline ? 0 : 1,
        outcome: byDeadline ? 'NO_ENTRY' : 'NOTED',
        failure: byDeadline ? 'NO_ENTRY' : null,
      });
      // A signal recorded before the deadline is never lost (a margin of a second for the clocks of one
      // database: the log's clock_timestamp() and a transaction's now()). One recorded later may lose
      // to the deadline: an entry answered just before the kill is delivered once the dead process's
      // outbox lease runs out, which may be after it.
      const times = timing.find((row) => row.key === saga.key);
      const signalledAt = times?.first_signal ? times.first_signal.getTime() - times.began.getTime() : undefined;
      if (signalledAt !== undefined && signalledAt < DEADLINE_MS - 1_000) expect({ ...seen, signalledAt }).toMatchObject({ endedBy: 'ledger.EntryRecorded' });
      if (signalledAt !== undefined && signalledAt >= DEADLINE_MS) endings.signalAfterDeadline++;
      // B and D had theirs in time, C none.
      if (seen.group === 'B' || seen.group === 'D')
        expect({ ...seen, signalledAt }).toMatchObject({ endedBy: 'ledger.EntryRecorded', signalledAt: expect.any(Number) });
      if (seen.group === 'C') expect({ ...seen, signalledAt }).toMatchObject({ endedBy: 'TIMEOUT', signalledAt: undefined });
      // The redelivered signal was counted once.
      if (seen.group === 'B' && Number(saga.key.split('-')[1]) % 2 === 1) expect(saga.signals).toBe(1);
    }
    expect(sagas).toHaveLength(KEYS.length);
    console.log(
      `waits across a SIGKILL: ${endings.signal} ended by a signal, ${endings.deadline} by their deadline ` +
        `(${endings.signalAfterDeadline} of them signalled after it); ${answered.size} of group A answered before the kill`,
    );
  }, 180_000);
});
