import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { Metrics } from '../../src/platform/observability/metrics.js';
import { defineSaga } from '../../src/platform/sagas/saga-definition.js';
import { SagaRunner } from '../../src/platform/sagas/saga-runner.js';
import { type RecordedStatement, oneLine, recordStatements } from '../support/recorded-statements.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { startTestStore, type TestStore } from '../support/test-store.js';

const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));
const MODULE = 'ledger';
const SAGA = 'history';
const ENDED = 30_000;
const WAITING = 5_000;
const IN_FLIGHT = 5;

/** Every statement this process's pg clients send while `work` runs, that `picks` picks. */
async function statementsOf(work: () => Promise<unknown>, picks: (text: string) => boolean): Promise<RecordedStatement[]> {
  const recording = recordStatements(picks);
  try {
    await work();
  } finally {
    recording.restore();
  }
  return recording.sent;
}

/**
 * What the saga engine asks of its table over and over (the admission's sample, ten times a
 * second; the runner's claim and its next due time, every pass) must cost what the sagas in flight
 * cost, not what every saga that ever ran does: a store's table holds every checkout it has
 * finished, and every delivery that waits for days. Measured as PostgreSQL's own account of the
 * pages a statement touches (EXPLAIN ANALYZE, BUFFERS), with the generic plan a prepared
 * statement may settle on after five runs (for those sent prepared) and with a custom one: found by bench:overload
 * --statements, where the sample's generic plan read the whole table, 12-45 ms a time.
 */
describe('the saga engine’s polling statements on a long history', () => {
  let database: TestDatabase;
  let store: TestStore;
  let db: DataSource;
  let admin: pg.Client;
  let runner: SagaRunner<{ key: string }>;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await startTestStore({}, { modulesRoot: FIXTURE_MODULES, database });
    db = store.application.databases.get(MODULE);
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    runner = new SagaRunner(
      defineSaga<{ key: string }>({
        name: SAGA,
        version: 1,
        steps: [{ name: 'ONLY', run: async () => ({}) }],
        stepTimeoutMs: 2_000,
        retry: { initialDelayMs: 10, maxDelayMs: 50 },
        stuckAfterAttempts: 1_000,
        load: async (keys) => new Map(keys.map((key) => [key, { key }])),
      }),
      { leaseMs: 10_000, concurrency: 16, pollIntervalMs: 50 },
      db,
      store.application.messaging.transactionsFor(MODULE),
      store.application.app.get(Metrics, { strict: false }),
    );
    // A history: sagas that ended, others that wait for days, a few in flight (leased: none due).
    await admin.query(
      `INSERT INTO ledger.sagas (saga, key, step, status, next_run_at, definition_version)
       SELECT $1, 'ended-' || n, 'DONE', 'DONE', now() - interval '1 day', 1 FROM generate_series(1, $2::int) n`,
      [SAGA, ENDED],
    );
    await admin.query(
      `INSERT INTO ledger.sagas (saga, key, step, status, next_run_at, definition_version)
       SELECT $1, 'waiting-' || n, 'ONLY', 'WAITING', now() + interval '3 days', 1 FROM generate_series(1, $2::int) n`,
      [SAGA, WAITING],
    );
    // Another saga type's waits (a store's deliveries, each waiting days for its carrier).
    await admin.query(
      `INSERT INTO ledger.sagas (saga, key, step, status, next_run_at, definition_version)
       SELECT 'other', 'waiting-' || n, 'ONLY', 'WAITING', now() + interval '3 days', 1 FROM generate_series(1, $1::int) n`,
      [ENDED],
    );
    await admin.query(
      `INSERT INTO ledger.sagas (saga, key, step, status, next_run_at, locked_until, definition_version)
       SELECT $1, 'running-' || n, 'ONLY', 'RUNNING', now(), now() + interval '1 hour', 1 FROM generate_series(1, $2::int) n`,
      [SAGA, IN_FLIGHT],
    );
    await admin.query('ANALYZE ledger.sagas');
  }, 120_000);

  afterAll(async () => {
    await admin?.end();
    await store?.close();
    await database?.drop();
  });

  /** Pages (shared buffers hit or read) the statement touches, EXPLAIN ANALYZE'd with `plan` plans, in a transaction rolled back. */
  async function pagesTouched(sent: RecordedStatement, plan: 'force_generic_plan' | 'force_custom_plan'): Promise<number> {
    await admin.query('BEGIN');
    try {
      await admin.query(`SET LOCAL plan_cache_mode = ${plan}`);
      await admin.query(`PREPARE probe AS ${sent.text}`); // not undone by the rollback: deallocated below
      const literals = sent.values.map((value) => literal(admin, value)).join(', ');
      const { rows } = await admin.query<{ 'QUERY PLAN': Array<{ Plan: Record<string, number> }> }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE probe${literals ? `(${literals})` : ''}`,
      );
      const top = rows[0]['QUERY PLAN'][0].Plan;
      return top['Shared Hit Blocks'] + top['Shared Read Blocks'];
    } finally {
      await admin.query('ROLLBACK');
      await admin.query('DEALLOCATE ALL');
    }
  }

  it('reads the sagas in flight, not the history: each statement touches a few pages, whatever plan it gets', async () => {
    const tablePages = Number((await admin.query(`SELECT relpages FROM pg_class WHERE oid = 'ledger.sagas'::regclass`)).rows[0].relpages);
    expect(tablePages).toBeGreaterThan(300);

    let sample: { inFlight: number } | undefined;
    const sent = await statementsOf(
      async () => {
        sample = await runner.store.admissionSample();
        expect(await runner.store.claim(16, 1_000)).toEqual([]);
        await runner.store.nextDueInMs();
      },
      (text) => /\bsagas\b/.test(text),
    );
    expect(sample?.inFlight).toBe(IN_FLIGHT);
    expect(sent.length).toBeGreaterThanOrEqual(3);

    const costs: string[] = [];
    for (const statement of sent) {
      // A statement sent unnamed is planned for its values each time; a prepared one may settle on the generic plan.
      for (const plan of statement.prepared ? (['force_generic_plan', 'force_custom_plan'] as const) : (['force_custom_plan'] as const)) {
        const pages = await pagesTouched(statement, plan);
        if (pages > 40) costs.push(`${pages} pages (${plan}): ${oneLine(statement.text, 100)}`);
      }
    }
    expect(costs).toEqual([]);
  }, 60_000);
});

/** A parameter as a SQL literal, for EXECUTE (text, numbers, null, arrays of those). */
function literal(client: pg.Client, value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `ARRAY[${value.map((v) => literal(client, v)).join(', ')}]`;
  return client.escapeLiteral(typeof value === 'string' ? value : JSON.stringify(value));
}
