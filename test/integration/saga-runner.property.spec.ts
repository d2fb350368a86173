import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import { ModuleError } from '../../src/platform/contracts/module.error.js';
import type { TransactionRunner } from '../../src/platform/messaging/transaction-runner.js';
import { TransactionRunner as Transactions } from '../../src/platform/messaging/transaction-runner.js';
import { Metrics } from '../../src/platform/observability/metrics.js';
import { defineSaga, type SagaDefinition } from '../../src/platform/sagas/saga-definition.js';
import { SagaRunner } from '../../src/platform/sagas/saga-runner.js';
import { recordSignal } from '../../src/platform/sagas/saga-signals.js';
import { SagaOperations } from '../../src/platform/sagas/saga-store.js';
import { TransportError } from '../../src/platform/transport/transport.js';
import { Books, openSimulatedDatabase, type PendingCall, type Resource, SIM_SCHEMA, SimulatedClock } from '../support/saga-simulation.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { propertySeed } from '../support/property-seed.js';

/**
 * The saga runner under random interleavings, on the real database with a
 * clock the test moves: a checkout-like saga (two idempotent steps, then one
 * that is not, with a hidden undo) run by three replicas, while steps answer
 * (success, refusal, a technical error before or after their effect, an
 * effect whose answer is lost, a permanent error), replicas crash between a
 * step's effect and its record, the database goes away and comes back, time
 * jumps past leases, retry times and the deadline, late answers land after
 * the saga moved on, and customers cancel completed checkouts (a second saga,
 * without a deadline, on the same books, beside a lost checkout runner's late
 * calls). Then a quiet spell: every call answered, time moves on,
 * an operator retries what is STUCK. Every saga must end, a completed one
 * holding all three, a compensated or cancelled one none, each log entry
 * written once.
 *
 * Beside them, a delivery-like saga that waits (ADR 29): it holds a charge,
 * waits for DELIVERED (then commits) or RETURNED (gives up) with a deadline
 * (NOT_DELIVERED), while signals land before the wait begins, during it,
 * after its deadline and after its end, twice under one id, or not awaited
 * at all, among the crashes, outages, lease expiries and clock jumps above.
 * Each wait must end exactly once, by a signal or by its deadline, never
 * both; a signal recorded before the wait began or before its deadline is
 * never lost (the deadline cannot win over it); a signal recorded twice is
 * counted once; giving up undoes the charge, committing holds it.
 *
 * Seeded and replayable: PROPERTY_SEED=<seed> (and PROPERTY_PATH=<path>, as
 * fast-check prints on failure); PROPERTY_RUNS raises the number of schedules.
 */

const RUNS = Number(process.env.PROPERTY_RUNS ?? 40);
const SEED = propertySeed();
const PATH = process.env.PROPERTY_PATH;
const KEYS = ['s0', 's1', 's2'];
const REPLICAS = 3;
const LEASE_MS = 10_000;
const DEADLINE_MS = 30_000;
const STEP_TIMEOUT_MS = 2_000;
/** The waiting saga's keys, and its wait's deadline. */
const WAIT_KEYS = ['w0', 'w1', 'w2'];
const WAIT_MS = 20_000;
type SignalName = 'DELIVERED' | 'RETURNED' | 'OTHER';

type Answer = 'ok' | 'refuse' | 'error-after' | 'error-before' | 'applied-unanswered' | 'permanent';
type Action =
  | { readonly kind: 'answer'; readonly pick: number; readonly answer: Answer }
  | { readonly kind: 'pass'; readonly replica: number }
  | { readonly kind: 'crash'; readonly replica: number }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'outage'; readonly down: boolean }
  | { readonly kind: 'cancel'; readonly key: number }
  | { readonly kind: 'signal'; readonly key: number; readonly name: SignalName; readonly id: number };

/** What the schedules made happen, printed at the end: a property that never cancels or never gives up proves little. */
const seen = {
  schedules: 0,
  completed: 0,
  compensated: 0,
  cancelled: 0,
  operatorRetries: 0,
  afterLostRunner: 0,
  // The waits: how they ended, and the signals that made it interesting.
  waitsBySignal: 0,
  waitsByDeadline: 0,
  signalsBeforeWait: 0,
  signalsWhileWaiting: 0,
  signalsAfterDeadline: 0,
  duplicateSignals: 0,
  waitsWithLateSignal: 0,
};

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('answer' as const),
      pick: fc.nat(20),
      answer: fc.constantFrom<Answer>('ok', 'ok', 'ok', 'ok', 'refuse', 'error-after', 'error-before', 'applied-unanswered', 'permanent'),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pass' as const), replica: fc.nat(REPLICAS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), replica: fc.nat(REPLICAS - 1) }) },
  // Within a step's timeout, past it, past a lease, past the deadline.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(100, 2_500, 11_000, 31_000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('outage' as const), down: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), key: fc.nat(KEYS.length - 1) }) },
  // Ids from a small range: the same signal comes twice (an event redelivered, a webhook retried).
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('signal' as const),
      key: fc.nat(WAIT_KEYS.length - 1),
      name: fc.constantFrom<SignalName>('DELIVERED', 'DELIVERED', 'RETURNED', 'OTHER'),
      id: fc.nat(1),
    }),
  },
);

const lateSignal = fc.record({
  round: fc.nat(3),
  key: fc.nat(WAIT_KEYS.length - 1),
  name: fc.constantFrom<SignalName>('DELIVERED', 'RETURNED', 'OTHER'),
  id: fc.nat(1),
});

describe('the saga runner under random interleavings (property, real database, simulated clock)', () => {
  let database: TestDatabase;
  let db: DataSource;
  let clock: SimulatedClock;
  let run = 0;

  beforeAll(async () => {
    // Thousands of retries and give-ups are the point here, not their log lines.
    Logger.overrideLogger(false);
    database = await createTestDatabase('mf_saga_prop');
    db = await openSimulatedDatabase(database.url);
    clock = new SimulatedClock(db);
  }, 60_000);
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('every saga ends; a completed one holds charge, reservation and shipment, a compensated one none; each log entry once; each wait ends once, no signal lost or counted twice', async () => {
    console.log(`saga property: seed ${SEED}, ${RUNS} runs (PROPERTY_SEED=${SEED} replays; PROPERTY_RUNS raises)`);
    await fc.assert(
      // How long every replica stays away before the quiet spell: not at all, past the leases, past the deadline too.
      // And signals that land during the quiet spell, by round (each round moves time past a lease): while waits wait, and after their deadline.
      fc.asyncProperty(
        fc.array(action, { minLength: 3, maxLength: 30 }),
        fc.constantFrom(0, LEASE_MS + 1_000, DEADLINE_MS + 1_000),
        fc.array(lateSignal, { maxLength: 8 }),
        async (actions, away, late) => {
          const world = new World(db, clock, `prop-${++run}`);
          await world.start();
          for (const next of actions) await world.act(next);
          await world.quiet(away, late);
          await world.check();
        },
      ),
      { seed: SEED, numRuns: RUNS, ...(PATH ? { path: PATH } : {}), endOnFailure: false, verbose: 1 },
    );
    console.log(`saga property: ${JSON.stringify(seen)}`);
  }, 600_000);
});

/** One schedule's world: the saga, its replicas, the collaborators' books, the database's availability. */
class World {
  private readonly books = new Books();
  private readonly replicas: Replica[] = [];
  private inflight = 0;
  private down = false;
  /** Keys whose customer wants to cancel (once the checkout completes). */
  private readonly cancelling = new Set<string>();
  /** By waiting saga's key: the distinct signals recorded (name/id), and whether an awaited one came while its wait could still take it. */
  private readonly signals = new Map<string, Set<string>>();
  private readonly mustWin = new Set<string>();
  private nextReplica = 0;
  private readonly transactions: TransactionRunner;
  private readonly metrics = new Metrics({ defaultMetrics: false });

  constructor(
    private readonly db: DataSource,
    private readonly clock: SimulatedClock,
    private readonly name: string,
  ) {
    // No effect and no events: the store's statements go straight to the pool (no outbox involved).
    this.transactions = new Transactions(SIM_SCHEMA, db, undefined as never, () => [], undefined as never);
    for (let slot = 0; slot < REPLICAS; slot++) this.replicas.push(this.replica());
  }

  private get waitName(): string {
    return `${this.name}-wait`;
  }

  private definitions(replica: number): Array<SagaDefinition<{ key: string }>> {
    const step =
      (resource: Resource, undo: boolean) =>
      async ({ key }: { key: string }) => {
        const answer = await this.books.call(replica, key, resource, undo);
        if (answer === 'refused') return { failed: 'REFUSED' };
        return {};
      };
    const common = {
      version: 1,
      stepTimeoutMs: STEP_TIMEOUT_MS,
      retry: { initialDelayMs: 100, maxDelayMs: 1_000 },
      stuckAfterAttempts: 4,
      load: async (keys: readonly string[]) => new Map(keys.map((key) => [key, { key }])),
    };
    // The customer's cancellation of a completed checkout: no deadline, every step retried until it succeeds (or STUCK).
    const cancellation = defineSaga<{ key: string }>({
      name: `${this.name}-cancel`,
      ...common,
      steps: [
        { name: 'CANCEL_SHIPMENT', idempotent: true, run: async (s) => void (await step('schedule', true)(s)) },
        { name: 'RELEASE_STOCK', idempotent: true, run: async (s) => void (await step('reserve', true)(s)) },
        { name: 'REFUND_PAYMENT', run: async (s) => void (await step('charge', true)(s)) },
      ],
    });
    return [
      defineSaga<{ key: string }>({
        name: this.name,
        deadlineMs: DEADLINE_MS,
        abortReason: 'TIMED_OUT',
        ...common,
        steps: [
          {
            name: 'CHARGE_PAYMENT',
            idempotent: true,
            run: step('charge', false),
            undo: { name: 'REFUND_PAYMENT', run: async (s) => void (await step('charge', true)(s)) },
          },
          {
            name: 'RESERVE_STOCK',
            idempotent: true,
            run: step('reserve', false),
            undo: { name: 'RELEASE_STOCK', run: async (s) => void (await step('reserve', true)(s)) },
          },
          {
            name: 'SCHEDULE_SHIPMENT',
            run: step('schedule', false),
            undo: { name: 'VOID_SHIPMENT', logged: false, run: async (s) => void (await step('schedule', true)(s)) },
          },
        ],
      }),
      cancellation,
      defineSaga<{ key: string }>({
        // Delivery-like (ADR 29): hold, wait for the carrier's word or the deadline, then commit or give up.
        name: this.waitName,
        ...common,
        steps: [
          { name: 'HOLD', idempotent: true, run: step('charge', false), undo: { name: 'RELEASE', run: async (s) => void (await step('charge', true)(s)) } },
          {
            name: 'AWAIT',
            waitFor: { signals: { DELIVERED: 'COMMIT', RETURNED: { fail: 'RETURNED' } }, deadlineMs: WAIT_MS, timeout: { fail: 'NOT_DELIVERED' } },
          },
          { name: 'COMMIT', run: step('reserve', false) },
        ],
      }),
    ];
  }

  private replica(): Replica {
    const id = this.nextReplica++;
    const runners = this.definitions(id).map((definition) => {
      const runner = new SagaRunner(
        definition,
        { leaseMs: LEASE_MS, concurrency: 16, pollIntervalMs: 1_000, clock: this.clock.forReplica(id) },
        this.db,
        this.transactions,
        this.metrics,
      );
      // Every database call of the store is counted (the test waits for none in flight), and fails while the database is away.
      const store = runner.store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      for (const method of ['claim', 'advance', 'rewait', 'retryLater', 'markStuck', 'release', 'nextDueInMs', 'stuckCount']) {
        const original = store[method].bind(store);
        store[method] = async (...args: unknown[]) => {
          this.inflight++;
          try {
            if (this.down) throw new Error('connection terminated: the database is away');
            return await original(...args);
          } finally {
            this.inflight--;
          }
        };
      }
      // Running, as after onApplicationBootstrap, but without its loop's own timers: the test wakes it (Loop.wake).
      (runner as unknown as { loop: { stopped: boolean } }).loop.stopped = false;
      return new Loop(runner);
    });
    return new Replica(id, runners[0], runners[1], runners[2]);
  }

  /** Waits until every replica is blocked on a step's call (or idle): nothing in flight to the database. */
  async settle(): Promise<void> {
    let idle = 0;
    for (let turn = 0; turn < 100_000 && idle < 3; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      idle = this.inflight === 0 ? idle + 1 : 0;
    }
  }

  /** s0 starts as an order's process starts its checkout (leased to replica 0 and run at once); the others queued, unleased. */
  async start(): Promise<void> {
    const store = this.replicas[0].checkout.runner.store;
    for (const key of KEYS) {
      await this.db.query(`WITH ${store.startSql({ key: '$1::text', deadlineMs: '$2::int', traceContext: `'{}'::jsonb`, leaseMs: '$3::int' })} SELECT 1`, [
        key,
        DEADLINE_MS,
        key === 's0' ? LEASE_MS : null,
      ]);
    }
    this.replicas[0].checkout.runner.runNow('s0', { key: 's0' }, {});
    const waiting = this.replicas[0].waiting.runner.store;
    for (const key of WAIT_KEYS) {
      await this.db.query(
        `WITH ${waiting.startSql({ key: '$1::text', deadlineMs: 'NULL::int', traceContext: `'{}'::jsonb`, leaseMs: 'NULL::int' })} SELECT 1`,
        [key],
      );
    }
    await this.settle();
  }

  async act(next: Action): Promise<void> {
    switch (next.kind) {
      case 'answer': {
        const pending = this.books.sortedPending();
        if (pending.length > 0) this.answer(pending[next.pick % pending.length], next.answer);
        break;
      }
      case 'pass':
        this.replicas[next.replica].wake();
        break;
      case 'crash': {
        // Dead between whatever its steps did and their record: no timer fires, no answer is heard, no lease given back.
        const dead = this.replicas[next.replica];
        dead.alive = false;
        this.clock.forget(dead.id);
        this.replicas[next.replica] = this.replica();
        break;
      }
      case 'advance':
        await this.clock.advance(next.ms, () => this.settle());
        break;
      case 'outage':
        this.down = next.down;
        break;
      case 'cancel':
        this.cancelling.add(KEYS[next.key]);
        break;
      case 'signal':
        await this.signal(WAIT_KEYS[next.key], next.name, next.id);
        break;
    }
    await this.settle();
    await this.cancelCompleted();
  }

  /**
   * A signal lands for a waiting saga (while the database is away, it lands
   * later: an inbox retries). Noted: whether it is new, and whether the wait
   * could still take it when it landed (the wait not begun, or begun and its
   * deadline not passed, by the database's clock): such a signal must win.
   */
  private async signal(key: string, name: SignalName, id: number): Promise<void> {
    if (this.down) return;
    const recorded = this.signals.get(key) ?? new Set<string>();
    this.signals.set(key, recorded);
    if (recorded.has(`${name}/${id}`)) seen.duplicateSignals++;
    recorded.add(`${name}/${id}`);
    await recordSignal(this.db, SIM_SCHEMA, { saga: this.waitName, key, name, id: `${name}-${id}` });
    if (name === 'OTHER') return;
    const [row]: Array<{ ended: boolean; begun: boolean; open: boolean }> = await this.db.query(
      `SELECT outputs ? 'AWAIT' AS ended, step = 'AWAIT' OR outputs ? 'AWAIT' AS begun, step = 'AWAIT' AND wake_at > now() AS open
         FROM ${SIM_SCHEMA}.sagas WHERE saga = $1 AND key = $2`,
      [this.waitName, key],
    );
    if (row.ended) return;
    if (!row.begun) {
      seen.signalsBeforeWait++;
      this.mustWin.add(key);
    } else if (row.open) {
      seen.signalsWhileWaiting++;
      this.mustWin.add(key);
    } else seen.signalsAfterDeadline++;
  }

  /**
   * Customers who asked to cancel do so as soon as their checkout completed: as
   * the orders module does, the cancellation starts only then, in one
   * statement, and never twice.
   */
  private async cancelCompleted(): Promise<void> {
    if (this.down) return;
    const cancellation = this.replicas[0].cancellation.runner.store;
    for (const key of this.cancelling) {
      await this.db.query(
        `WITH completed AS (
           SELECT key FROM ${SIM_SCHEMA}.sagas WHERE saga = $2 AND key = $1 AND status = 'DONE' AND failure_reason IS NULL
         ), ${cancellation.startSql({ key: 'completed.key', deadlineMs: 'NULL::int', traceContext: `'{}'::jsonb`, leaseMs: 'NULL::int' }, 'FROM completed')}
         SELECT 1`,
        [key, this.name],
      );
    }
  }

  private answer(call: PendingCall, answer: Answer): void {
    const listening = this.replicas.some((replica) => replica.alive && replica.id === call.replica);
    const reply = (f: () => void) => {
      this.books.take(call);
      // A dead replica hears nothing; the callee did what it did all the same.
      if (listening) f();
    };
    switch (answer) {
      case 'applied-unanswered':
        // The callee did it; the answer is yet to come, or lost (answered again later: idempotent).
        this.books.apply(call);
        return;
      case 'error-before':
        return reply(() => call.reject(new TransportError('no answer', false)));
      case 'permanent':
        return reply(() => call.reject(new ModuleError('CONFLICT', 'refused for good', 'sim')));
      case 'error-after':
        this.books.apply(call);
        return reply(() => call.reject(new TransportError('no answer', false)));
      case 'ok':
      case 'refuse': {
        const result = this.books.apply(call, answer === 'refuse');
        return reply(() => (result === 'voided' ? call.reject(new ModuleError('CONFLICT', 'voided', 'sim')) : call.resolve(result)));
      }
    }
  }

  /** The quiet spell: the database back, every call answered, time moving, an operator retrying what is STUCK, until every saga is DONE. */
  async quiet(away: number, late: ReadonlyArray<{ round: number; key: number; name: SignalName; id: number }> = []): Promise<void> {
    this.down = false;
    await this.clock.advance(away, () => this.settle());
    const operations = new SagaOperations(this.db, SIM_SCHEMA);
    for (let round = 0; round < 40; round++) {
      for (const signal of late.filter((each) => each.round === round)) await this.signal(WAIT_KEYS[signal.key], signal.name, signal.id);
      await this.cancelCompleted();
      const rows = await this.rows();
      if (rows.every((row) => row.status === 'DONE')) return;
      for (const row of rows) {
        if (row.status !== 'STUCK') continue;
        await operations.retry(row.key);
        seen.operatorRetries++;
      }
      for (let calls = 0; calls < 20 && this.books.pending.length > 0; calls++) {
        this.answer(this.books.sortedPending()[0], 'ok');
        await this.settle();
      }
      await this.clock.advance(LEASE_MS + 1_000, () => this.settle());
      this.replicas[round % REPLICAS].wake();
      await this.settle();
    }
  }

  async check(): Promise<void> {
    const rows = await this.rows();
    if (process.env.PROPERTY_DEBUG)
      console.log(
        JSON.stringify(
          {
            rows: await this.db.query(
              `SELECT key, step, status, locked_until, next_run_at, deadline_at, now() AS now, attempts, last_error FROM ${SIM_SCHEMA}.sagas WHERE saga = $1`,
              [this.name],
            ),
            pending: this.books.pending.map((c) => [c.key, c.replica, c.resource, c.undo]),
            replicas: this.replicas.map((r) => r.id),
          },
          null,
          1,
        ),
      );
    const cancelled = new Set(rows.filter((row) => row.saga !== this.name).map((row) => row.key));
    seen.schedules++;
    seen.cancelled += cancelled.size;
    for (const row of rows.filter((row) => row.saga === this.name)) {
      if (row.failure_reason === null) seen.completed++;
      else seen.compensated++;
    }
    const [lost] = await this.db.query(`SELECT count(*)::int AS n FROM ${SIM_SCHEMA}.sagas WHERE saga = $1 AND reach IS NOT NULL`, [this.name]);
    seen.afterLostRunner += lost.n;
    for (const row of rows.filter((row) => row.saga === this.waitName)) await this.checkWait(row);
    for (const row of rows.filter((row) => row.saga !== this.waitName)) {
      const holdings = Object.fromEntries((['charge', 'reserve', 'schedule'] as const).map((resource) => [resource, this.books.holding(row.key, resource)]));
      const where = { saga: row.saga, key: row.key, status: row.status, failureReason: row.failure_reason, holdings };
      expect(where).toMatchObject({ status: 'DONE' });
      // Completed and not cancelled: all three held. Compensated, or cancelled by its customer: none.
      if (row.failure_reason === null && !cancelled.has(row.key))
        expect(where).toMatchObject({ holdings: { charge: 'held', reserve: 'held', schedule: 'held' } });
      else expect({ ...where, held: Object.values(holdings).filter((holding) => holding === 'held') }).toMatchObject({ held: [] });
      const log: Array<{ step: string; status: string }> = await this.db.query(
        `SELECT step, status FROM ${SIM_SCHEMA}.saga_log WHERE saga = $1 AND key = $2 ORDER BY id`,
        [row.saga, row.key],
      );
      const entries = log.map((entry) => `${entry.step} ${entry.status}`);
      expect({ ...where, repeated: entries.filter((entry, index) => entries.indexOf(entry) !== index) }).toMatchObject({ repeated: [] });
    }
  }

  /** A waiting saga ended, and its wait once: by a signal it consumed, or by its deadline with no signal it could have taken. */
  private async checkWait(row: { saga: string; key: string; status: string; failure_reason: string | null }): Promise<void> {
    const [saga]: Array<{ outputs: Record<string, string>; signals: number }> = await this.db.query(
      `SELECT outputs, signals FROM ${SIM_SCHEMA}.sagas WHERE saga = $1 AND key = $2`,
      [row.saga, row.key],
    );
    const log: Array<{ step: string; status: string }> = await this.db.query(
      `SELECT step, status FROM ${SIM_SCHEMA}.saga_log WHERE saga = $1 AND key = $2 ORDER BY id`,
      [row.saga, row.key],
    );
    const consumed: Array<{ name: string }> = await this.db.query(
      `SELECT name FROM ${SIM_SCHEMA}.saga_signals WHERE saga = $1 AND key = $2 AND consumed_at IS NOT NULL`,
      [row.saga, row.key],
    );
    const entries = log.map((entry) => `${entry.step} ${entry.status}`);
    const began = entries.includes('AWAIT STARTED');
    const endedBy = saga.outputs.AWAIT;
    const holdings = { charge: this.books.holding(row.key, 'charge'), reserve: this.books.holding(row.key, 'reserve') };
    const where = {
      saga: row.saga,
      key: row.key,
      status: row.status,
      failureReason: row.failure_reason,
      endedBy,
      holdings,
      waitEnds: entries.filter((entry) => entry === 'AWAIT SUCCEEDED' || entry === 'AWAIT FAILED').length,
      consumed: consumed.map((signal) => signal.name),
      repeated: entries.filter((entry, index) => entries.indexOf(entry) !== index),
      counted: saga.signals,
    };
    expect(where).toMatchObject({ status: 'DONE', repeated: [], waitEnds: began ? 1 : 0 });
    // Each recorded signal counted once, however often it came.
    expect(where).toMatchObject({ counted: this.signals.get(row.key)?.size ?? 0 });
    if (!began) {
      expect(where).toMatchObject({ endedBy: undefined, consumed: [] });
    } else if (endedBy === 'TIMEOUT') {
      seen.waitsByDeadline++;
      // The deadline won: nothing consumed, and no signal it could have taken was there.
      expect({ ...where, mustWin: this.mustWin.has(row.key) }).toMatchObject({ consumed: [], mustWin: false, failureReason: 'NOT_DELIVERED' });
    } else {
      seen.waitsBySignal++;
      if ((this.signals.get(row.key)?.size ?? 0) > 1) seen.waitsWithLateSignal++;
      // A signal won: exactly that one consumed.
      expect(where).toMatchObject({ endedBy: expect.stringMatching(/^(DELIVERED|RETURNED)$/), consumed: [endedBy] });
      if (endedBy === 'RETURNED') expect(where).toMatchObject({ failureReason: 'RETURNED' });
    }
    // Committing holds the charge and the stock; giving up, for whatever reason, holds neither.
    if (row.failure_reason === null) expect(where).toMatchObject({ endedBy: 'DELIVERED', holdings: { charge: 'held', reserve: 'held' } });
    else expect({ ...where, held: Object.values(holdings).filter((holding) => holding === 'held') }).toMatchObject({ held: [] });
  }

  private async rows(): Promise<Array<{ saga: string; key: string; status: string; failure_reason: string | null }>> {
    return this.db.query(
      `SELECT saga, key, status, failure_reason FROM ${SIM_SCHEMA}.sagas WHERE saga IN ($1, $1 || '-cancel', $1 || '-wait') ORDER BY saga, key`,
      [this.name],
    );
  }
}

/** A process running both sagas; dead, it does nothing more. */
class Replica {
  alive = true;

  constructor(
    readonly id: number,
    readonly checkout: Loop,
    readonly cancellation: Loop,
    readonly waiting: Loop,
  ) {}

  wake(): void {
    if (!this.alive) return;
    this.checkout.wake(() => this.alive);
    this.cancellation.wake(() => this.alive);
    this.waiting.wake(() => this.alive);
  }
}

/** A runner's passes, never two at once (a wake-up during one runs another after it), as its WakeableLoop does. */
class Loop {
  private passing: Promise<unknown> | undefined;
  private again = false;

  constructor(readonly runner: SagaRunner<{ key: string }>) {}

  wake(alive: () => boolean): void {
    if (!alive()) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    const pass = (this.runner as unknown as { pass(): Promise<unknown> }).pass();
    this.passing = pass
      .catch((error) => {
        if (process.env.PROPERTY_DEBUG) console.log('pass failed', error);
      })
      .then(() => {
        this.passing = undefined;
        if (this.again && alive()) {
          this.again = false;
          this.wake(alive);
        }
      });
  }
}
