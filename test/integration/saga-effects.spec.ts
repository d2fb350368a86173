import { fileURLToPath } from 'node:url';
import type { DataSource } from 'typeorm';
import { Metrics } from '../../src/platform/observability/metrics.js';
import { defineSaga, type SagaDefinition, type SagaEffect, type SagaStepDefinition } from '../../src/platform/sagas/saga-definition.js';
import { SagaRunner } from '../../src/platform/sagas/saga-runner.js';
import { EntryRecorded } from '../fixtures/messaging/src/modules/ledger/ledger.contract.js';
import { eventually } from '../support/eventually.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { startTestStore, type TestStore } from '../support/test-store.js';

// The fixture 'ledger' module: its own table `accounts` (id, last_sequence) is what the effects change.
const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));
const MODULE = 'ledger';

type Subject = { key: string };
let sagaNo = 0;

/** One round trip per call of a pg client's `query`: what a module's role sent, as the engine named it or as its text began. */
interface Sent {
  readonly label: string;
}

/**
 * A transition's effect in the module's own terms (ADR 35), composed by the
 * platform into the statement that records the transition: counted here as
 * the round trips the module's connections make (pg's client `query`, each
 * one round trip), on the real database, with a subscriber to the saga's
 * events (so the events are written by that statement too).
 */
describe("a saga effect in the module's own terms, in the statement of its transition", () => {
  let database: TestDatabase;
  let store: TestStore;
  let db: DataSource;
  let role: string;
  const runners: Array<SagaRunner<Subject>> = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await startTestStore({}, { modulesRoot: FIXTURE_MODULES, database });
    db = store.application.databases.get(MODULE);
    [{ role }] = await db.query('SELECT current_user AS role');
  }, 60_000);
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.beforeApplicationShutdown().catch(() => {});
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  function saga(steps: Array<SagaStepDefinition<Subject>>, effect: SagaEffect<Subject>, stepTimeoutMs = 2_000): SagaDefinition<Subject> {
    return defineSaga<Subject>({
      name: `effect-${++sagaNo}`,
      version: 1,
      steps,
      stepTimeoutMs,
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
      stuckAfterAttempts: 1_000,
      load: async (keys) => new Map(keys.map((key) => [key, { key }])),
      effect,
    });
  }

  /** Each written transition adds one to the account's `last_sequence` (its row is the saga's key). */
  const counting: SagaEffect<Subject> = {
    update: { table: 'accounts', set: 'last_sequence = last_sequence + :by', where: 'id = :key' },
    params: () => ({ by: 1 }),
    events: (transition, { key }) => (transition.outcome ? [new EntryRecorded(key, 1, 1)] : []),
  };

  async function runner(definition: SagaDefinition<Subject>, leaseMs = 10_000): Promise<SagaRunner<Subject>> {
    const metrics = store.application.app.get(Metrics, { strict: false });
    const created = new SagaRunner(
      definition,
      { leaseMs, concurrency: 16, pollIntervalMs: 50 },
      db,
      store.application.messaging.transactionsFor(MODULE),
      metrics,
    );
    runners.push(created);
    await created.onApplicationBootstrap();
    return created;
  }

  async function start(target: SagaRunner<Subject>, key: string): Promise<void> {
    await db.query('INSERT INTO ledger.accounts (id, last_sequence) VALUES ($1, 0)', [key]);
    await db.query(`WITH ${target.store.startSql({ key: '$1::text', deadlineMs: 'NULL::int', traceContext: `'{}'::jsonb`, leaseMs: 'NULL::int' })} SELECT 1`, [
      key,
    ]);
    target.wake();
  }

  const sequence = async (key: string): Promise<number> => (await db.query('SELECT last_sequence FROM ledger.accounts WHERE id = $1', [key]))[0].last_sequence;
  const status = async (name: string, key: string): Promise<string> =>
    (await db.query('SELECT status FROM ledger.sagas WHERE saga = $1 AND key = $2', [name, key]))[0].status;

  /** Counts what the module's role sends until `stop()`: every `query` of a pg client is one round trip. */
  function sent(): { readonly queries: Sent[]; stop(): void } {
    const Client = (db.driver as unknown as { postgres: { Client: { prototype: { query: (...args: unknown[]) => unknown } } } }).postgres.Client;
    const original = Client.prototype.query;
    const queries: Sent[] = [];
    Client.prototype.query = function (this: { user?: string }, ...args: unknown[]) {
      const config = args[0] as string | { name?: string; text: string };
      if (this.user === role) queries.push({ label: typeof config === 'string' ? config.trim() : (config.name ?? config.text.trim()) });
      return original.apply(this, args);
    };
    return { queries, stop: () => void (Client.prototype.query = original) };
  }

  /**
   * Not a transition's: the engine's reads of its queue (claims, when the next
   * is due, the stuck gauge, the versions in flight at start), the outbox
   * relay's (it delivers the end's event after the commit), and this test's own reads.
   */
  const notTransition = (label: string) =>
    /^WITH due AS|due_in_ms|status = 'STUCK'|definition_version AS version|^ledger\.outbox-|^SELECT status FROM ledger\.sagas/.test(label);

  it("each written transition is one round trip carrying the module's update and the end's events: no statement of its own, no BEGIN", async () => {
    const definition = saga(
      [
        { name: 'A', run: async () => {} },
        { name: 'B', run: async () => {} },
        { name: 'C', run: async () => {} },
      ],
      counting,
    );
    const engine = await runner(definition);
    const counter = sent();
    try {
      await start(engine, 'effect-rt');
      await eventually(async () => expect(await status(definition.name, 'effect-rt')).toBe('DONE'));
    } finally {
      counter.stop();
    }
    const transitions = counter.queries.filter((query) => !notTransition(query.label) && !/accounts|saga_started/.test(query.label));
    // A→B, B→C, C→DONE: three statements, each the engine's advance, and nothing else (no BEGIN/COMMIT, no UPDATE of accounts alone).
    expect(transitions.map((query) => query.label.replace(/:[0-9a-f]{8}$/, ''))).toEqual(Array(3).fill(`${MODULE}.advance-${definition.name}-saga`));
    // Each of them changed the account: the effect rode in each.
    expect(await sequence('effect-rt')).toBe(3);
    // The end's event (audit subscribes to it) was written by that same statement.
    const [outbox] = await db.query(`SELECT count(*)::int AS n FROM ledger.outbox WHERE aggregate_id = 'effect-rt'`);
    expect(outbox.n).toBe(1);
  });

  it("a transition `when` leaves out changes nothing of the module's, in a statement without the update", async () => {
    const definition = saga(
      [
        { name: 'A', run: async () => {} },
        { name: 'B', run: async () => {} },
      ],
      { ...counting, when: (transition) => transition.outcome !== undefined },
    );
    const engine = await runner(definition);
    await start(engine, 'effect-when');
    await eventually(async () => expect(await status(definition.name, 'effect-when')).toBe('DONE'));
    // Two transitions written (A→B, B→DONE), only the end's changed the account.
    expect(await sequence('effect-when')).toBe(1);
  });

  it("a runner that lost its saga changes nothing of the module's: the platform guards the effect, the module never names the guard", async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    let firstA = true;
    const definition = saga(
      [
        {
          name: 'A',
          run: async () => {
            // The first runner's A answers only after another runner has taken its saga and ended it.
            if (firstA) {
              firstA = false;
              await gate;
            }
          },
        },
        { name: 'B', run: async () => {} },
      ],
      counting,
      60_000,
    );
    const lost = await runner(definition);
    await start(lost, 'effect-lost');
    await eventually(async () => expect(firstA).toBe(false));
    // Its lease runs out (as when a runner is cut off) and another runner ends the saga: A→B and B→DONE.
    await db.query(`UPDATE ledger.sagas SET locked_until = now() - interval '1 second' WHERE saga = $1`, [definition.name]);
    (await runner(definition)).wake();
    await eventually(async () => expect(await status(definition.name, 'effect-lost')).toBe('DONE'));
    expect(await sequence('effect-lost')).toBe(2);
    // Now the lost runner's A answers, and it writes its transition: the statement is sent, and applies nothing.
    const counter = sent();
    try {
      open();
      await eventually(async () => expect(counter.queries.filter((query) => query.label.includes(`advance-${definition.name}-saga`))).toHaveLength(1));
    } finally {
      counter.stop();
    }
    expect(await sequence('effect-lost')).toBe(2);
    const [outbox] = await db.query(`SELECT count(*)::int AS n FROM ledger.outbox WHERE aggregate_id = 'effect-lost'`);
    expect(outbox.n).toBe(1);
  });
});
