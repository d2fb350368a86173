import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { TransactionRunner } from '../../src/platform/messaging/transaction-runner.js';
import { Metrics } from '../../src/platform/observability/metrics.js';
import { defineSaga, type SagaDefinition, type SagaStepDefinition } from '../../src/platform/sagas/saga-definition.js';
import { SagaRunner } from '../../src/platform/sagas/saga-runner.js';
import { recordSignal } from '../../src/platform/sagas/saga-signals.js';
import { openSimulatedDatabase, SIM_SCHEMA, SimulatedClock } from '../support/saga-simulation.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { SteppedLoop } from '../support/stepped-loop.js';

/**
 * Durable waits (ADR 29) on the real database, with the simulated clock of
 * the saga property test: the database's now() and the runners' clocks move
 * only when the test says, so "not before its time" is asserted without
 * reading a wall clock. Runners are driven pass by pass (their loop's timers
 * are the test's), as replicas sharing one database.
 */
type Subject = { key: string };
let sagaNo = 0;

describe('saga waits: sleeps, signals with a deadline, versions (real database, simulated clock)', () => {
  let database: TestDatabase;
  let db: DataSource;
  let clock: SimulatedClock;
  let transactions: TransactionRunner;
  const metrics = new Metrics({ defaultMetrics: false });

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    database = await createTestDatabase('mf_saga_waits');
    db = await openSimulatedDatabase(database.url);
    clock = new SimulatedClock(db);
    transactions = new TransactionRunner(SIM_SCHEMA, db, undefined as never, () => [], undefined as never);
  }, 60_000);
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  function saga(steps: Array<SagaStepDefinition<Subject>>, extra: Partial<SagaDefinition<Subject>> = {}): SagaDefinition<Subject> {
    return defineSaga<Subject>({
      name: `wait-${++sagaNo}`,
      version: 1,
      steps,
      stepTimeoutMs: 2_000,
      retry: { initialDelayMs: 100, maxDelayMs: 1_000 },
      stuckAfterAttempts: 3,
      load: async (keys) => new Map(keys.map((key) => [key, { key }])),
      ...extra,
    });
  }

  /** A replica's runner whose passes the test runs. */
  function replica(
    definitions: SagaDefinition<Subject> | Array<SagaDefinition<Subject>>,
    id = 0,
  ): { runner: SagaRunner<Subject>; pass: () => Promise<unknown> } {
    let loop: SteppedLoop | undefined;
    const runner = new SagaRunner(
      definitions,
      { leaseMs: 10_000, concurrency: 16, pollIntervalMs: 1_000, clock: clock.forReplica(id), loop: (pass) => (loop = new SteppedLoop(pass)) },
      db,
      transactions,
      metrics,
    );
    loop!.start();
    // A pass, and the sagas it took run as far as they go.
    return { runner, pass: async () => (await loop!.step(), await runner.idle()) };
  }

  async function start(runner: SagaRunner<Subject>, key: string): Promise<void> {
    await db.query(`WITH ${runner.store.startSql({ key: '$1::text', deadlineMs: 'NULL::int', traceContext: `'{}'::jsonb`, leaseMs: 'NULL::int' })} SELECT 1`, [
      key,
    ]);
  }

  const signal = (definition: SagaDefinition<Subject>, key: string, name: string, id: string) =>
    recordSignal(db, SIM_SCHEMA, { saga: definition.name, key, name, id });

  async function row(definition: SagaDefinition<Subject>, key: string) {
    const [found] = await db.query(
      `SELECT step, status, failure_reason, outputs, definition_version, locked_until FROM ${SIM_SCHEMA}.sagas WHERE saga = $1 AND key = $2`,
      [definition.name, key],
    );
    return found as {
      step: string;
      status: string;
      failure_reason: string | null;
      outputs: Record<string, unknown>;
      definition_version: number;
      locked_until: Date | null;
    };
  }

  async function log(definition: SagaDefinition<Subject>, key: string): Promise<string[]> {
    const rows: Array<{ step: string; status: string }> = await db.query(
      `SELECT step, status FROM ${SIM_SCHEMA}.saga_log WHERE saga = $1 AND key = $2 ORDER BY id`,
      [definition.name, key],
    );
    return rows.map((entry) => `${entry.step} ${entry.status}`);
  }

  const advance = (ms: number) => clock.advance(ms, async () => {});

  it('a sleep fires after its time and not before; while it sleeps the saga is a row that holds no lease', async () => {
    const ran: string[] = [];
    const definition = saga([
      { name: 'A', run: async () => void ran.push('A') },
      { name: 'NAP', sleepMs: 60_000 },
      { name: 'B', run: async () => void ran.push('B') },
    ]);
    const { runner, pass } = replica(definition);
    await start(runner, 'k');
    await pass();
    expect(await row(definition, 'k')).toMatchObject({ step: 'NAP', status: 'WAITING', locked_until: null });
    await advance(59_999);
    await pass();
    expect(ran).toEqual(['A']);
    expect(await row(definition, 'k')).toMatchObject({ step: 'NAP', status: 'WAITING' });
    await advance(1);
    await pass();
    expect(ran).toEqual(['A', 'B']);
    expect(await row(definition, 'k')).toMatchObject({ status: 'DONE', outputs: { NAP: 'SLEPT' } });
    expect(await log(definition, 'k')).toEqual(['A STARTED', 'A SUCCEEDED', 'NAP STARTED', 'NAP SUCCEEDED', 'B STARTED', 'B SUCCEEDED']);
  });

  function delivery() {
    const ran: string[] = [];
    const definition = saga([
      { name: 'CHARGE', run: async () => void ran.push('CHARGE'), undo: { name: 'REFUND', run: async () => void ran.push('REFUND') } },
      {
        name: 'AWAIT',
        waitFor: { signals: { delivered: 'COMMIT', returned: { fail: 'RETURNED' } }, deadlineMs: 3_600_000, timeout: { fail: 'NOT_DELIVERED' } },
      },
      { name: 'COMMIT', run: async () => void ran.push('COMMIT') },
    ]);
    return { ran, definition };
  }

  it('the signal wins the race: it ends the wait before its deadline and leads where it says', async () => {
    const { ran, definition } = delivery();
    const { runner, pass } = replica(definition);
    await start(runner, 'k');
    await pass();
    await advance(3_599_999);
    expect(await signal(definition, 'k', 'delivered', 'd1')).toBe(true);
    await pass();
    expect(ran).toEqual(['CHARGE', 'COMMIT']);
    expect(await row(definition, 'k')).toMatchObject({ status: 'DONE', failure_reason: null, outputs: { AWAIT: 'delivered' } });
    // Past the deadline nothing changes.
    await advance(10);
    await pass();
    expect(ran).toEqual(['CHARGE', 'COMMIT']);
  });

  it('the deadline wins the race: no signal by then, the timeout compensates; a signal after it changes nothing', async () => {
    const { ran, definition } = delivery();
    const { runner, pass } = replica(definition);
    await start(runner, 'k');
    await pass();
    await advance(3_600_000);
    await pass();
    expect(ran).toEqual(['CHARGE', 'REFUND']);
    expect(await row(definition, 'k')).toMatchObject({ status: 'DONE', failure_reason: 'NOT_DELIVERED', outputs: { AWAIT: 'TIMEOUT' } });
    await signal(definition, 'k', 'delivered', 'late');
    await pass();
    expect(ran).toEqual(['CHARGE', 'REFUND']);
    expect(await log(definition, 'k')).toEqual(['CHARGE STARTED', 'CHARGE SUCCEEDED', 'AWAIT STARTED', 'AWAIT FAILED', 'REFUND STARTED', 'REFUND SUCCEEDED']);
  });

  it('a signal that comes before the wait begins is not lost (nor before the saga starts)', async () => {
    const { ran, definition } = delivery();
    const { runner, pass } = replica(definition);
    await signal(definition, 'early', 'returned', 'r1');
    await start(runner, 'early');
    await pass();
    // The wait began due at once: the same pass, or the next, takes it.
    await pass();
    expect(ran).toEqual(['CHARGE', 'REFUND']);
    expect(await row(definition, 'early')).toMatchObject({ status: 'DONE', failure_reason: 'RETURNED', outputs: { AWAIT: 'returned' } });
  });

  it('the same signal twice counts once: a second wait for it is not ended by its duplicate', async () => {
    const ran: string[] = [];
    const definition = saga([
      { name: 'FIRST', waitFor: { signals: { ping: 'SECOND' }, deadlineMs: 60_000 } },
      { name: 'SECOND', waitFor: { signals: { ping: 'DONE_STEP' }, deadlineMs: 60_000, timeout: { fail: 'NO_SECOND_PING' } } },
      { name: 'DONE_STEP', run: async () => void ran.push('DONE_STEP') },
    ]);
    const { runner, pass } = replica(definition);
    await start(runner, 'k');
    expect(await signal(definition, 'k', 'ping', 'p1')).toBe(true);
    expect(await signal(definition, 'k', 'ping', 'p1')).toBe(false);
    await pass();
    await pass();
    expect(await row(definition, 'k')).toMatchObject({ step: 'SECOND', status: 'WAITING' });
    // Redelivered after it was consumed: still once.
    expect(await signal(definition, 'k', 'ping', 'p1')).toBe(false);
    await pass();
    expect(await row(definition, 'k')).toMatchObject({ step: 'SECOND', status: 'WAITING' });
    await signal(definition, 'k', 'ping', 'p2');
    await pass();
    expect(ran).toEqual(['DONE_STEP']);
    expect(await row(definition, 'k')).toMatchObject({ status: 'DONE', failure_reason: null });
  });

  it('a wait outlives its runner: replica A dies mid-wait, replica B takes the signal up', async () => {
    const { ran, definition } = delivery();
    const a = replica(definition, 1);
    await start(a.runner, 'k');
    await a.pass();
    expect(await row(definition, 'k')).toMatchObject({ step: 'AWAIT', status: 'WAITING', locked_until: null });
    // A dies: its timers never fire, it never passes again. Nothing of the wait was its.
    clock.forget(1);
    const b = replica(definition, 2);
    await signal(definition, 'k', 'delivered', 'd1');
    await b.pass();
    expect(ran).toEqual(['CHARGE', 'COMMIT']);
    expect(await row(definition, 'k')).toMatchObject({ status: 'DONE', failure_reason: null });
  });

  it('versions: instances started on v1 finish on v1 steps, new ones start on v2; a build without v1 refuses with the count', async () => {
    const ran: string[] = [];
    const v1 = saga([
      { name: 'OLD', run: async () => void ran.push('OLD') },
      { name: 'NAP', sleepMs: 1_000 },
      { name: 'OLD_END', run: async () => void ran.push('OLD_END') },
    ]);
    const v2 = defineSaga<Subject>({
      ...v1,
      version: 2,
      steps: [
        { name: 'NEW', run: async () => void ran.push('NEW') },
        { name: 'NEW_END', run: async () => void ran.push('NEW_END') },
      ],
    });
    const first = replica(v1, 3);
    await start(first.runner, 'old-1');
    await start(first.runner, 'old-2');
    await first.pass();
    expect(ran).toEqual(['OLD', 'OLD']);
    clock.forget(3);

    // The next build dropped v1 while two are in flight: it refuses, and says so.
    const without = replica(v2, 4);
    await expect(without.runner.onApplicationBootstrap()).rejects.toThrow(/2 on version 1 in flight/);

    const next = replica([v1, v2], 5);
    await start(next.runner, 'new-1');
    await advance(1_000);
    await next.pass();
    expect([...ran].sort()).toEqual(['NEW', 'NEW_END', 'OLD', 'OLD', 'OLD_END', 'OLD_END']);
    expect(await row(v1, 'old-1')).toMatchObject({ status: 'DONE', definition_version: 1 });
    expect(await row(v1, 'new-1')).toMatchObject({ status: 'DONE', definition_version: 2 });
    expect(await log(v1, 'old-2')).toEqual(['OLD STARTED', 'OLD SUCCEEDED', 'NAP STARTED', 'NAP SUCCEEDED', 'OLD_END STARTED', 'OLD_END SUCCEEDED']);
    // Nothing of v1 in flight any more: a build with v2 alone starts.
    const later = replica(v2, 6);
    await later.runner.onApplicationBootstrap();
    await later.runner.beforeApplicationShutdown();
  });
  it('says when the next saga falls due: a due one now, a lease at its end, a retry or a wait at its time; ended and stuck ones never', async () => {
    const definition = saga([{ name: 'A', run: async () => {} }]);
    const { runner } = replica(definition, 7);
    const store = runner.store;
    /** A saga in a given state, `next_run_at` and lease from the database's (simulated) now, in seconds. */
    const put = async (key: string, status: string, dueInS: number, leasedForS: number | null) => {
      await start(runner, key);
      await db.query(
        `UPDATE ${SIM_SCHEMA}.sagas SET status = $3, step = CASE WHEN $3 = 'DONE' THEN 'DONE' ELSE step END, next_run_at = now() + make_interval(secs => $4),
                locked_until = CASE WHEN $5::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $5::float8) END
          WHERE saga = $1 AND key = $2`,
        [definition.name, key, status, dueInS, leasedForS],
      );
    };
    expect(await store.nextDueInMs()).toBeUndefined();
    await put('waits-an-hour', 'WAITING', 3_600, null);
    expect(await store.nextDueInMs()).toBe(3_600_000);
    await put('waits-a-minute', 'WAITING', 60, null);
    await put('ended', 'DONE', -10, null);
    await put('stuck', 'STUCK', -10, null);
    expect(await store.nextDueInMs()).toBe(60_000);
    // Run by a runner now: due again when its lease ends.
    await put('leased', 'RUNNING', -1, 10);
    expect(await store.nextDueInMs()).toBe(10_000);
    await put('retries-soon', 'RUNNING', 5, null);
    expect(await store.nextDueInMs()).toBe(5_000);
    // A lease that ran out (its runner died): due now.
    await put('lease-ran-out', 'RUNNING', -2, -1);
    expect(await store.nextDueInMs()).toBe(0);
  });
});
