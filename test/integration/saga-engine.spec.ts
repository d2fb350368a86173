import { fileURLToPath } from 'node:url';
import type { DataSource } from 'typeorm';
import { ModuleError } from '../../src/platform/contracts/module.error.js';
import { Metrics } from '../../src/platform/observability/metrics.js';
import { defineSaga, type SagaDefinition, type SagaStepDefinition } from '../../src/platform/sagas/saga-definition.js';
import { SagaRunner } from '../../src/platform/sagas/saga-runner.js';
import { SagaOperations } from '../../src/platform/sagas/saga-store.js';
import { DEFAULT_RESILIENCE, ModuleResilience } from '../../src/platform/transport/resilience.js';
import { TransportError } from '../../src/platform/transport/transport.js';
import { eventually } from '../support/eventually.js';
import { EntryRecorded } from '../fixtures/messaging/src/modules/ledger/ledger.contract.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { startTestStore, type TestStore } from '../support/test-store.js';

// The engine on its own, in a module that knows nothing of orders: the fixture 'ledger' module's schema.
const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));
const MODULE = 'ledger';

type Subject = { key: string };
let sagaNo = 0;

describe('the saga engine (platform/sagas) on a real database', () => {
  let database: TestDatabase;
  let store: TestStore;
  let db: DataSource;
  const runners: Array<SagaRunner<Subject>> = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await startTestStore({}, { modulesRoot: FIXTURE_MODULES, database });
    db = store.application.databases.get(MODULE);
  }, 60_000);
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.beforeApplicationShutdown().catch(() => {});
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  function saga(steps: Array<SagaStepDefinition<Subject>>, extra: Partial<SagaDefinition<Subject>> = {}): SagaDefinition<Subject> {
    return defineSaga<Subject>({
      name: `test-${++sagaNo}`,
      version: 1,
      steps,
      stepTimeoutMs: 2_000,
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
      stuckAfterAttempts: 1_000,
      load: async (keys) => new Map(keys.map((key) => [key, { key }])),
      ...extra,
    });
  }

  async function runner(definition: SagaDefinition<Subject>, leaseMs = 10_000, start = true): Promise<SagaRunner<Subject>> {
    const metrics = store.application.app.get(Metrics, { strict: false });
    const created = new SagaRunner(
      definition,
      { leaseMs, concurrency: 16, pollIntervalMs: 50 },
      db,
      store.application.messaging.transactionsFor(MODULE),
      metrics,
    );
    runners.push(created);
    if (start) await created.onApplicationBootstrap();
    return created;
  }

  /** Starts sagas the way an owner does, in a statement of its own (not leased: any runner claims them). */
  async function start(target: SagaRunner<Subject>, keys: string[], deadlineMs: number | null = null): Promise<void> {
    for (const key of keys) {
      await db.query(`WITH ${target.store.startSql({ key: '$1::text', deadlineMs: '$2::int', traceContext: `'{}'::jsonb`, leaseMs: 'NULL::int' })} SELECT 1`, [
        key,
        deadlineMs,
      ]);
    }
    target.wake();
  }

  async function row(name: string, key: string) {
    const [found] = await db.query(`SELECT step, status, attempts, failure_reason, locked_until, version FROM ledger.sagas WHERE saga = $1 AND key = $2`, [
      name,
      key,
    ]);
    return found as { step: string; status: string; attempts: number; failure_reason: string | null; locked_until: Date | null; version: number };
  }

  async function log(name: string, key: string): Promise<string[]> {
    const rows: Array<{ step: string; status: string }> = await db.query('SELECT step, status FROM ledger.saga_log WHERE saga = $1 AND key = $2 ORDER BY id', [
      name,
      key,
    ]);
    return rows.map((entry) => `${entry.step} ${entry.status}`);
  }

  it('runs a declared saga to its end, logging each step', async () => {
    const definition = saga([
      { name: 'A', run: async () => {} },
      { name: 'B', run: async () => {} },
    ]);
    const engine = await runner(definition);
    await start(engine, ['k1']);
    await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'));
    expect(await log(definition.name, 'k1')).toEqual(['A STARTED', 'A SUCCEEDED', 'B STARTED', 'B SUCCEEDED']);
  });

  it('records an idempotent step with the next write: one statement fewer, the log complete and in order, each entry at its own time', async () => {
    const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 50));
    const definition = saga([
      { name: 'A', idempotent: true, run: pause },
      { name: 'B', idempotent: true, run: pause },
      { name: 'C', run: pause },
    ]);
    const engine = await runner(definition);
    await start(engine, ['k1']);
    await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'));
    // Started (version 1), claimed (2), and one write for A, B and C's end: not one per step.
    expect((await row(definition.name, 'k1')).version).toBe(3);
    const entries: Array<{ step: string; status: string; at: Date }> = await db.query(
      'SELECT step, status, at FROM ledger.saga_log WHERE saga = $1 AND key = $2 ORDER BY id',
      [definition.name, 'k1'],
    );
    expect(entries.map((entry) => `${entry.step} ${entry.status}`)).toEqual([
      'A STARTED',
      'A SUCCEEDED',
      'B STARTED',
      'B SUCCEEDED',
      'C STARTED',
      'C SUCCEEDED',
    ]);
    const at = entries.map((entry) => entry.at.getTime());
    for (let n = 1; n < at.length; n++) expect(at[n]).toBeGreaterThanOrEqual(at[n - 1]);
    // B succeeded a step (at least 50 ms) after A did: its own time, not the write's.
    expect(at[3] - at[1]).toBeGreaterThanOrEqual(40);
  });

  it('a runner lost after an idempotent step leaves the saga where it was written: the next runs the step again, logged once', async () => {
    const runs: string[] = [];
    let hang = true;
    const definition = saga([
      { name: 'A', idempotent: true, run: async () => void runs.push('A') },
      {
        name: 'B',
        timeoutMs: 1_500,
        run: async () => {
          runs.push('B');
          // The first runner "crashes" here: it never answers (and ignores its abort).
          if (hang) {
            hang = false;
            await new Promise(() => {});
          }
        },
      },
    ]);
    const lost = await runner(definition);
    await start(lost, ['k1']);
    await eventually(async () => expect(runs).toEqual(['A', 'B']));
    // Nothing of A was written: the row still shows A, and the log only its start.
    expect(await row(definition.name, 'k1')).toMatchObject({ step: 'A', status: 'RUNNING' });
    expect(await log(definition.name, 'k1')).toEqual(['A STARTED']);
    // Its lease runs out (as after a crash) and another runner takes over.
    await db.query(`UPDATE ledger.sagas SET locked_until = now() - interval '1 second' WHERE saga = $1`, [definition.name]);
    await runner(definition);
    await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'));
    expect(runs).toEqual(['A', 'B', 'A', 'B']);
    expect(await log(definition.name, 'k1')).toEqual(['A STARTED', 'A SUCCEEDED', 'B STARTED', 'B SUCCEEDED']);
    // The lost runner's attempt times out; its retry finds the saga moved on and changes nothing.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await log(definition.name, 'k1')).toEqual(['A STARTED', 'A SUCCEEDED', 'B STARTED', 'B SUCCEEDED']);
  });

  it('an idempotent step that ends past the deadline is written, so the next step gives up as it would have', async () => {
    let ranC = false;
    const definition = saga(
      [
        { name: 'A', idempotent: true, run: async () => {}, undo: { name: 'UNDO_A', run: async () => {} } },
        { name: 'B', idempotent: true, timeoutMs: 10_000, run: () => new Promise<void>((resolve) => setTimeout(resolve, 3_200)) },
        { name: 'C', run: async () => void (ranC = true) },
      ],
      { deadlineMs: 3_000, abortReason: 'TIMED_OUT' },
    );
    const engine = await runner(definition, 30_000);
    await start(engine, ['k1'], 3_000);
    await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'), 15_000);
    expect(ranC).toBe(false);
    expect((await row(definition.name, 'k1')).failure_reason).toBe('TIMED_OUT');
    expect(await log(definition.name, 'k1')).toEqual([
      'A STARTED',
      'A SUCCEEDED',
      'B STARTED',
      'B SUCCEEDED',
      'C STARTED',
      'C FAILED',
      'UNDO_A STARTED',
      'UNDO_A SUCCEEDED',
    ]);
  });

  it('a step failing after an unrecorded idempotent one is retried and parked at its own step, not the one before', async () => {
    const definition = saga(
      [
        { name: 'A', idempotent: true, run: async () => {} },
        { name: 'B', run: async () => Promise.reject(new TransportError('no answer', false)) },
      ],
      { stuckAfterAttempts: 2 },
    );
    const engine = await runner(definition);
    await start(engine, ['k1']);
    await eventually(async () => expect(await row(definition.name, 'k1')).toMatchObject({ step: 'B', status: 'STUCK', attempts: 2 }));
    expect(await log(definition.name, 'k1')).toEqual(['A STARTED', 'A SUCCEEDED', 'B STARTED']);
    // Out of the way of the operators' list another test checks.
    await db.query('DELETE FROM ledger.sagas WHERE saga = $1', [definition.name]);
  });

  it('a slow saga holds only its own place: the queue behind it runs on (no pass waits for its slowest saga)', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const definition = saga([
      // Far longer than the test: only its release ends it.
      { name: 'A', timeoutMs: 60_000, run: async ({ key }) => (key === 'slow' ? held : undefined) },
    ]);
    const engine = await runner(definition, 120_000, false);
    // The slow one first, so it is in the first claim; then more than two runners' worth of places.
    const others = Array.from({ length: 40 }, (_, n) => `k${n}`);
    await start(engine, ['slow']);
    await start(engine, others);
    await engine.onApplicationBootstrap();
    try {
      await eventually(async () => {
        const { done } = (
          await db.query(`SELECT count(*) FILTER (WHERE status = 'DONE')::int AS done FROM ledger.sagas WHERE saga = $1`, [definition.name])
        )[0] as { done: number };
        expect(done).toBe(others.length);
      }, 10_000);
      expect(await row(definition.name, 'slow')).toMatchObject({ step: 'A', status: 'RUNNING' });
    } finally {
      release();
    }
    await eventually(async () => expect((await row(definition.name, 'slow')).status).toBe('DONE'));
  });

  it('starts decided at once are all run here, never more at once than the runner has places: the rest wait for one', async () => {
    let runningNow = 0;
    let mostAtOnce = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const definition = saga([
      {
        name: 'A',
        timeoutMs: 60_000,
        run: async () => {
          mostAtOnce = Math.max(mostAtOnce, ++runningNow);
          await held;
          runningNow--;
        },
      },
    ]);
    const engine = await runner(definition, 120_000);
    // Its first pass found nothing queued: starts may lease their sagas to it.
    await eventually(async () => expect(engine.canTakeOver()).toBe(true));
    // As many starts as an HTTP flood has in flight: each decides, then writes its saga (a round trip), then hands it over.
    const keys = Array.from({ length: 40 }, (_, n) => `k${n}`);
    const decided = keys.map((key) => ({ key, here: engine.canTakeOver() }));
    expect(decided.every((start) => start.here)).toBe(true);
    await Promise.all(
      keys.map((key) =>
        db.query(`WITH ${engine.store.startSql({ key: '$1::text', deadlineMs: 'NULL::int', traceContext: `'{}'::jsonb`, leaseMs: '$2::int' })} SELECT 1`, [
          key,
          120_000,
        ]),
      ),
    );
    for (const key of keys) engine.runNow(key, { key }, {});
    // 16 places: 16 run, the other 24 wait for theirs.
    await eventually(async () => expect(runningNow).toBe(16));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(mostAtOnce).toBe(16);
    // No room left: the next start is left to a claim.
    expect(engine.canTakeOver()).toBe(false);
    release();
    await eventually(async () => {
      const [{ done }] = await db.query(`SELECT count(*) FILTER (WHERE status = 'DONE')::int AS done FROM ledger.sagas WHERE saga = $1`, [definition.name]);
      expect(done).toBe(keys.length);
    });
    expect(mostAtOnce).toBe(16);
  });

  it('a runner whose lease expired cannot give back the lease of the runner that holds the saga now', async () => {
    const definition = saga([{ name: 'A', run: async () => {} }]);
    const engine = await runner(definition, 200, false);
    await start(engine, ['k1']);
    const [late] = await engine.store.claim(1, 200);
    expect(late.key).toBe('k1');
    // Its lease runs out (by the database's clock); another runner claims the saga and is running it.
    await eventually(async () => expect(await engine.store.claim(1, 60_000)).toHaveLength(1), 5_000, 50);
    const holder = await row(definition.name, 'k1');
    // The late runner's step fails and it gives the saga back: that must change nothing.
    expect(await engine.store.release(late, 0)).toBe(false);
    expect(await row(definition.name, 'k1')).toEqual(holder);
    // So a third runner finds nothing to claim: one step runs at a time.
    expect(await engine.store.claim(1, 60_000)).toEqual([]);
  });

  it('aborts an attempt past its step timeout, ignores its late answer, and retries', async () => {
    const signals: AbortSignal[] = [];
    const definition = saga(
      [
        {
          name: 'SLOW',
          timeoutMs: 100,
          run: async (_subject, { signal }) => {
            signals.push(signal);
            // The first attempt answers, successfully, long after its deadline.
            if (signals.length === 1) await new Promise((resolve) => setTimeout(resolve, 600));
          },
        },
      ],
      { deadlineMs: 60_000, abortReason: 'TIMED_OUT' },
    );
    const engine = await runner(definition);
    await start(engine, ['k1'], 60_000);
    await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'));
    expect(signals).toHaveLength(2);
    expect(signals[0].aborted).toBe(true);
    expect((signals[0].reason as Error).name).toBe('StepTimeoutError');
    expect(await log(definition.name, 'k1')).toEqual(['SLOW STARTED', 'SLOW SUCCEEDED']);
  });

  it('makes no further remote attempt once the call is given up (cockatiel under an AbortSignal)', async () => {
    const resilience = new ModuleResilience({ ...DEFAULT_RESILIENCE, callTimeoutMs: 1_000, retries: 2, breakerThreshold: 100, breakerHalfOpenAfterMs: 1_000 });
    const controller = new AbortController();
    let attempts = 0;
    const call = resilience.execute(
      true,
      async () => {
        attempts++;
        controller.abort(new Error('step timed out'));
        throw new TransportError('no answer', false);
      },
      controller.signal,
    );
    await expect(call).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // longer than the retries' back-off
    expect(attempts).toBe(1);
  });

  it('gives up at once on a permanent error (CONFLICT), compensating, well before the deadline', async () => {
    const undone: string[] = [];
    let attempts = 0;
    const definition = saga(
      [
        { name: 'A', run: async () => {}, undo: { name: 'UNDO_A', run: async ({ key }) => void undone.push(key) } },
        {
          name: 'B',
          run: async () => {
            attempts++;
            throw new ModuleError('CONFLICT', 'refused for good', 'other');
          },
        },
      ],
      { deadlineMs: 600_000, abortReason: 'GAVE_UP' },
    );
    const engine = await runner(definition);
    await start(engine, ['k1'], 600_000);
    await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'), 10_000);
    expect(attempts).toBe(1);
    expect(undone).toEqual(['k1']);
    expect((await row(definition.name, 'k1')).failure_reason).toBe('GAVE_UP');
    expect(await log(definition.name, 'k1')).toEqual(['A STARTED', 'A SUCCEEDED', 'B STARTED', 'B FAILED', 'UNDO_A STARTED', 'UNDO_A SUCCEEDED']);
  });

  it('parks a compensation that keeps failing as STUCK (metric, list) and runs it again on retry', async () => {
    let healthy = false;
    const definition = saga(
      [
        {
          name: 'A',
          run: async () => {},
          undo: {
            name: 'UNDO_A',
            run: async () => {
              if (!healthy) throw new ModuleError('UNAVAILABLE', 'down', 'other');
            },
          },
        },
        { name: 'B', run: async () => ({ failed: 'REFUSED' }) },
      ],
      { stuckAfterAttempts: 3 },
    );
    const engine = await runner(definition);
    await start(engine, ['k1']);
    await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('STUCK'));
    expect((await row(definition.name, 'k1')).attempts).toBe(3);
    const operations = new SagaOperations(db, MODULE);
    expect(await operations.stuck()).toEqual([expect.objectContaining({ saga: definition.name, key: 'k1', step: 'UNDO_A', attempts: 3 })]);
    const metrics = store.application.app.get(Metrics, { strict: false });
    expect(await metrics.registry.getSingleMetricAsString('saga_stuck_total')).toContain(`saga_stuck_total{saga="${definition.name}"} 1`);
    // Parked: not tried again by itself.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await row(definition.name, 'k1')).status).toBe('STUCK');
    healthy = true;
    expect(await operations.retry('k1')).toEqual([{ saga: definition.name, step: 'UNDO_A' }]);
    await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'));
    expect(await log(definition.name, 'k1')).toEqual(['A STARTED', 'A SUCCEEDED', 'B STARTED', 'B FAILED', 'UNDO_A STARTED', 'UNDO_A SUCCEEDED']);
  });

  it('two runners on one database, leases expiring mid-step: every step recorded once, every saga ends once', async () => {
    const runs = new Map<string, number>();
    const slow = (name: string): SagaStepDefinition<Subject> => ({
      name,
      timeoutMs: 2_000,
      run: async ({ key }) => {
        const attempt = (runs.get(`${key} ${name}`) ?? 0) + 1;
        runs.set(`${key} ${name}`, attempt);
        // A first attempt outlasts the lease (the other runner takes the saga meanwhile); a later one does not, so
        // each saga ends: were every attempt longer than the lease, runners that claim whatever is due would take
        // each saga from each other forever (leases must outlast steps: SagaRunnerOptions.leaseMs).
        await new Promise((resolve) => setTimeout(resolve, attempt === 1 ? 300 : 20));
      },
    });
    const definition = saga([slow('A'), slow('B')]);
    const keys = Array.from({ length: 12 }, (_, n) => `k${n}`);
    const first = await runner(definition, 100);
    const second = await runner(definition, 100);
    await start(first, keys);
    second.wake();
    await eventually(
      async () => {
        const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM ledger.sagas WHERE saga = $1 AND status = 'DONE'`, [definition.name]);
        expect(n).toBe(keys.length);
      },
      30_000,
      50,
    );
    for (const key of keys) expect(await log(definition.name, key)).toEqual(['A STARTED', 'A SUCCEEDED', 'B STARTED', 'B SUCCEEDED']);
    // Leases did expire mid-step and the steps ran again elsewhere: recorded once all the same.
    expect([...runs.values()].some((attempts) => attempts > 1)).toBe(true);
  });

  it('a graceful stop gives its leases back: another runner goes on at once, not when they expire', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    let started = 0;
    const definition = saga([
      {
        name: 'A',
        run: async () => {
          started++;
          await gate; // still running when the stop begins; done during it
        },
      },
      { name: 'B', run: async () => {} },
    ]);
    const stopping = await runner(definition, 600_000);
    await start(stopping, ['k1']);
    await eventually(async () => expect(started).toBe(1));
    const stopped = stopping.beforeApplicationShutdown();
    open();
    await stopped;
    // A was recorded, B was not begun, and nothing is left leased for ten minutes.
    expect(await row(definition.name, 'k1')).toMatchObject({ step: 'B', status: 'RUNNING', locked_until: null });
    await runner(definition, 600_000);
    await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'), 10_000);
  });

  it('keeps what steps answered with the saga, and its end publishes from them in its own statement, whichever runner ran which step', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    let started = 0;
    const definition = saga(
      [
        {
          name: 'A',
          run: async () => {
            started++;
            await gate;
            return { output: { amount: 7 } };
          },
        },
        { name: 'B', run: async () => ({ output: { note: 'b' } }) },
      ],
      {
        // An effect that only publishes: its events ride in the transition's statement.
        effect: {
          events: (transition, { key, outputs }) => (transition.outcome ? [new EntryRecorded(`saga-${key}`, 1, Number(outputs.amount))] : []),
        },
      },
    );
    const first = await runner(definition, 600_000);
    await start(first, ['k1']);
    await eventually(async () => expect(started).toBe(1));
    const stopped = first.beforeApplicationShutdown();
    open();
    await stopped;
    // A's answer is with the saga; the runner that ends it never ran A.
    await runner(definition, 600_000);
    await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'), 10_000);
    const [saved] = await db.query('SELECT outputs FROM ledger.sagas WHERE saga = $1 AND key = $2', [definition.name, 'k1']);
    expect(saved.outputs).toEqual({ amount: 7, note: 'b' });
    const audit = store.application.databases.get('audit');
    await eventually(async () =>
      expect(await audit.query('SELECT account_id, amount FROM audit.seen WHERE account_id = $1', ['saga-k1'])).toEqual([{ account_id: 'saga-k1', amount: 7 }]),
    );
    const [written] = await db.query(`SELECT count(*)::int AS n FROM ledger.outbox WHERE aggregate_id = 'saga-k1'`);
    expect(written.n).toBe(1);
  });

  describe('a give-up compensates every step that may have run, recorded or not', () => {
    /** A checkout's collaborators, keeping books: what is held now for each key, what each call did. */
    function checkoutLike(hang: { schedule: boolean }) {
      const held = new Map<string, Set<string>>();
      const hold = (key: string, what: string, on: boolean) => {
        const set = held.get(key) ?? new Set<string>();
        held.set(key, set);
        if (on) set.add(what);
        else set.delete(what);
      };
      const definition = saga(
        [
          {
            name: 'CHARGE_PAYMENT',
            idempotent: true,
            run: async ({ key }) => hold(key, 'charged', true),
            undo: { name: 'REFUND_PAYMENT', run: async ({ key }) => hold(key, 'charged', false) },
          },
          {
            name: 'RESERVE_STOCK',
            idempotent: true,
            run: async ({ key }) => hold(key, 'reserved', true),
            undo: { name: 'RELEASE_STOCK', run: async ({ key }) => hold(key, 'reserved', false) },
          },
          {
            name: 'SCHEDULE_SHIPMENT',
            // Well within the lease: the charge and the reservation are left for the schedule's end to write.
            timeoutMs: 5_000,
            run: async ({ key }) => {
              hold(key, 'scheduled', true);
              // The runner dies here: the shipment is scheduled, and no answer ever comes back.
              if (hang.schedule) await new Promise(() => {});
            },
            undo: { name: 'VOID_SHIPMENT', logged: false, run: async ({ key }) => hold(key, 'scheduled', false) },
          },
        ],
        { deadlineMs: 60_000, abortReason: 'TIMED_OUT' },
      );
      return { definition, held: (key: string) => [...(held.get(key) ?? [])].sort() };
    }

    it('a runner dies during SCHEDULE_SHIPMENT (charge and reservation unrecorded), the deadline passes, another claims: all three undone', async () => {
      const { definition, held } = checkoutLike({ schedule: true });
      const dying = await runner(definition);
      await start(dying, ['k1'], 60_000);
      await eventually(async () => expect(held('k1')).toEqual(['charged', 'reserved', 'scheduled']));
      // Only the start is written: the charge and the reservation wait for the schedule's end.
      expect(await row(definition.name, 'k1')).toMatchObject({ step: 'CHARGE_PAYMENT', status: 'RUNNING' });
      // The runner is gone (its lease runs out unrenewed) and nobody claims the saga before its deadline.
      await db.query(`UPDATE ledger.sagas SET locked_until = now() - interval '1 second', deadline_at = now() - interval '1 second' WHERE saga = $1`, [
        definition.name,
      ]);
      await runner(definition);
      await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'));
      expect((await row(definition.name, 'k1')).failure_reason).toBe('TIMED_OUT');
      // Refunded, released and the shipment voided: nothing of the checkout is left.
      expect(held('k1')).toEqual([]);
      // Every step that may have run is logged FAILED (the schedule once voided), then the undos in reverse.
      expect(await log(definition.name, 'k1')).toEqual([
        'CHARGE_PAYMENT STARTED',
        'CHARGE_PAYMENT FAILED',
        'RESERVE_STOCK FAILED',
        'SCHEDULE_SHIPMENT FAILED',
        'RELEASE_STOCK STARTED',
        'RELEASE_STOCK SUCCEEDED',
        'REFUND_PAYMENT STARTED',
        'REFUND_PAYMENT SUCCEEDED',
      ]);
    });

    it('a runner stopping during SCHEDULE_SHIPMENT gives its lease back; past the deadline the next one still undoes all three', async () => {
      const { definition, held } = checkoutLike({ schedule: true });
      const stopping = await runner(definition);
      await start(stopping, ['k1'], 60_000);
      await eventually(async () => expect(held('k1')).toEqual(['charged', 'reserved', 'scheduled']));
      // A graceful stop waits for the step, aborts it and gives the lease back; the schedule stands.
      await stopping.beforeApplicationShutdown();
      await db.query(`UPDATE ledger.sagas SET deadline_at = now() - interval '1 second' WHERE saga = $1`, [definition.name]);
      await runner(definition);
      await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'));
      expect((await row(definition.name, 'k1')).failure_reason).toBe('TIMED_OUT');
      expect(held('k1')).toEqual([]);
    }, 30_000);

    it('a give-up by the runner that ran every step itself undoes only what it started, logged as before', async () => {
      const { definition, held } = checkoutLike({ schedule: false });
      const engine = await runner(definition, 10_000, false);
      await start(engine, ['k1'], 60_000);
      await db.query(`UPDATE ledger.sagas SET deadline_at = now() - interval '1 second' WHERE saga = $1`, [definition.name]);
      await engine.onApplicationBootstrap();
      await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'));
      expect(held('k1')).toEqual([]);
      expect(await log(definition.name, 'k1')).toEqual([
        'CHARGE_PAYMENT STARTED',
        'CHARGE_PAYMENT FAILED',
        'REFUND_PAYMENT STARTED',
        'REFUND_PAYMENT SUCCEEDED',
      ]);
    });
  });

  it('takes the deadline from the database: a saga past it gives up without running its step', async () => {
    let ran = false;
    const definition = saga([{ name: 'A', run: async () => void (ran = true) }], { deadlineMs: 1_000, abortReason: 'TIMED_OUT' });
    const engine = await runner(definition, 10_000, false);
    await start(engine, ['k1'], 1_000);
    await db.query(`UPDATE ledger.sagas SET deadline_at = now() - interval '1 second' WHERE saga = $1`, [definition.name]);
    await engine.onApplicationBootstrap();
    await eventually(async () => expect((await row(definition.name, 'k1')).status).toBe('DONE'));
    expect(ran).toBe(false);
    expect(await log(definition.name, 'k1')).toEqual(['A STARTED', 'A FAILED']);
  });
});
