import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { EventContext, EventSubscriber } from '../../src/platform/index.js';
import { prng } from '../../tools/support/stats.js';
import { eventually } from '../support/eventually.js';
import { auditOutcome, auditReplicas, SHORT_LIMITS, type Replica } from '../support/stream-inbox-replicas.js';
import { SyntheticStream } from '../support/synthetic-stream.js';
import { startTestStore, type TestStore } from '../support/test-store.js';

const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));
/** Deliveries after which an event stops waiting for its predecessor. */
const WAITS = SHORT_LIMITS.maxAttempts * SHORT_LIMITS.orderingWaitsPerAttempt;

/**
 * Examples the stream inbox's property test (stream-inbox-ordering.property)
 * found, shrunk by hand (PROPERTY_SEED=1369463609): events that stop waiting
 * for a predecessor in a long back-off, on real PostgreSQL and a synthetic
 * stream, so each interleaving is exact. One aggregate: e0 (applied), e1 (its
 * handler fails for a long stretch), e2 and e3 (each waits for the one before).
 */
describe('stream inbox: events that give up waiting for their predecessor (real Postgres, synthetic stream)', () => {
  let store: TestStore;
  let admin: pg.Client;

  beforeAll(async () => {
    store = await startTestStore({}, { modulesRoot: FIXTURE_MODULES, messaging: SHORT_LIMITS });
    admin = new pg.Client({ connectionString: store.database.url });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await store?.close();
  });

  /** The aggregate's four events on a new stream; e1's handler fails until `healed()`. */
  const scenario = (tag: string) => {
    const stream = new SyntheticStream(tag);
    const aggregate = `${tag}-x`;
    const ids = [1, 2, 3, 4].map((sequence) => stream.publish('ledger.EntryRecorded', aggregate, { accountId: aggregate, sequence, amount: sequence }).eventId);
    let failing = true;
    const handler: EventSubscriber<object> = {
      async handle(event: object, context: EventContext): Promise<void> {
        if (failing && context.eventId === ids[1]) throw new Error('planted failure of e1');
        const { accountId, sequence, amount } = event as { accountId: string; sequence: number; amount: number };
        await context.tx.manager.query('INSERT INTO audit.seen (event_id, account_id, sequence, amount) VALUES ($1, $2, $3, $4)', [
          context.eventId,
          accountId,
          sequence,
          amount,
        ]);
      },
    };
    const replicas = auditReplicas(store, handler, 2, prng(7));
    /** Each event: `applied`, or its dead letter's reason, or `DROPPED` (neither). */
    const outcome = async () => {
      const { applied, dead } = await auditOutcome(admin, aggregate, ids);
      return ids.map((id) => (applied.some((row) => row.event_id === id) ? 'applied' : (dead.get(id) ?? 'DROPPED')));
    };
    const setUp = async () => {
      await stream.deliver([1], replicas[0]);
      await stream.deliver([2], replicas[0]); // fails: back-off
      // e2 and e3 wait for their turn, one delivery short of giving up.
      for (let wait = 1; wait < WAITS; wait++) await stream.deliver([3, 4], replicas[0]);
    };
    /** e1 comes back from its back-off, its handler healed. */
    const healed = async (replica: Replica) => {
      failing = false;
      await stream.deliver([2], replica);
    };
    return { stream, ids, replicas, outcome, setUp, healed };
  };

  it('of one batch, gives up on the first of an aggregate only: the later one is then its turn', async () => {
    const { stream, replicas, outcome, setUp, healed } = scenario('batch');
    await setUp();
    // Both give up waiting while another transaction holds the position: both wait for its lock (PROPERTY_SEED=1369463609, run 3).
    await admin.query('BEGIN');
    await admin.query('SELECT 1 FROM audit.event_positions WHERE aggregate_id = $1 FOR UPDATE', ['batch-x']);
    await stream.deliver([3, 4], replicas[1], { afterReceive: async () => void (await admin.query('COMMIT')) });
    await stream.deliver([4], replicas[1]);
    await healed(replicas[0]);
    expect(await outcome()).toEqual([
      'applied',
      expect.stringMatching(/arrived after its aggregate went past it/),
      expect.stringMatching(/previous event \(stream position 2\) never arrived/),
      'applied',
    ]);
    expect(stream.unacked).toBe(0);
  });

  it('a predecessor whose successor gave up on another replica first is dead-lettered as late, never dropped', async () => {
    const { stream, replicas, outcome, setUp, healed } = scenario('replicas');
    await setUp();
    // Another transaction holds the aggregate's position: replica 1 (with e3), then replica 0 (with e2) find it
    // busy, give up waiting and wait for that transaction; once it ends, the first to wait is (in practice) the
    // first to read the position: replica 1 moves it past e2.
    await admin.query('BEGIN');
    await admin.query('SELECT 1 FROM audit.event_positions WHERE aggregate_id = $1 FOR UPDATE', ['replicas-x']);
    const waiting = (count: number) =>
      eventually(async () => {
        // Inside a transaction, pg_stat_activity is read once and kept: read it afresh each time.
        await admin.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%event_positions%'`,
        );
        expect(rows[0].n).toBe(count);
      });
    const e3 = stream.deliver([4], replicas[1]);
    await waiting(1);
    const e2 = stream.deliver([3], replicas[0]);
    await waiting(2);
    await admin.query('COMMIT');
    await Promise.all([e3, e2]);
    await healed(replicas[0]);
    // Then the stream runs until quiet (should replica 0 have read the position first, e3 is then its turn).
    for (let ready = stream.ready(8); ready.length > 0; ready = stream.ready(8)) await stream.deliver(ready, replicas[0]);
    // Replica 1 moved the position past e2 (and e1): e2 is late, as e1 is; neither is dropped.
    const outcomes = await outcome();
    expect(outcomes).not.toContain('DROPPED');
    expect(outcomes[1]).toMatch(/arrived after its aggregate went past it/);
    expect(stream.unacked).toBe(0);
  });
});
