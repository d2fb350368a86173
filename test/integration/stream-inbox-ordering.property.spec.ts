import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import pg from 'pg';
import type { EventContext, EventSubscriber } from '../../src/platform/index.js';
import { faults } from '../fixtures/messaging/src/modules/audit/faults.js';
import { prng as seededRandom } from '../../tools/support/stats.js';
import { SyntheticStream } from '../support/synthetic-stream.js';
import { auditOutcome, auditReplicas, SHORT_LIMITS as OPTIONS } from '../support/stream-inbox-replicas.js';
import { startTestStore, type TestStore } from '../support/test-store.js';
import { propertySeed } from '../support/property-seed.js';

const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));
const RUNS = Number(process.env.PROPERTY_RUNS ?? 25);
const SEED = propertySeed();
/** Deliveries after the schedule before the stream must be quiet: beyond it, something is stuck. */
const DRAIN_LIMIT = 2_000;

/** How an event's handler misbehaves: its first `times` attempts fail, or every attempt until `until` (simulated ms). */
type Fault = { readonly times: number } | { readonly until: number };

type Step =
  | { readonly kind: 'deliver'; readonly replica: number; readonly max: number; readonly loseAcks: boolean; readonly hold: boolean }
  | { readonly kind: 'advance'; readonly ms: number };

/** True once in `n`. */
const oneIn = (n: number) => fc.nat(n - 1).map((k) => k === 0);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('deliver' as const),
      replica: fc.nat(2),
      max: fc.integer({ min: 1, max: 8 }),
      loseAcks: oneIn(10),
      hold: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 3_000 }) }) },
);

const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ times: 0 }) },
  { weight: 3, arbitrary: fc.record({ times: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ until: fc.integer({ min: 1_000, max: 60_000 }) }) },
);

/** A schedule: events over a few aggregates (some of a kind the subscriber passes), their faults, and the steps. */
const scheduleArb = fc.record({
  events: fc.array(fc.record({ aggregate: fc.nat(2), handled: oneIn(6).map((pass) => !pass), fault: faultArb }), { minLength: 2, maxLength: 14 }),
  steps: fc.array(stepArb, { maxLength: 40 }),
  seed: fc.integer(),
});

/**
 * The stream inbox's ordering, searched rather than exemplified (issue 27):
 * random interleavings of deliveries, redeliveries, NAKs, lost
 * acknowledgements, replicas (three StreamInbox instances on one database),
 * another replica holding an aggregate's position, handlers failing briefly
 * or for long stretches, and clock advances, against real PostgreSQL (where
 * the ordering lives). The stream is synthetic (test/support/synthetic-stream.ts)
 * so a seed replays its schedule; the real JetStream case is in event-stream.spec.
 */
describe('stream inbox ordering, property-based (real Postgres, synthetic stream)', () => {
  let store: TestStore;
  let admin: pg.Client;
  let run = 0;

  beforeAll(async () => {
    faults.reset();
    store = await startTestStore({}, { modulesRoot: FIXTURE_MODULES, messaging: OPTIONS });
    admin = new pg.Client({ connectionString: store.database.url });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await store?.close();
  });

  it('applies every event exactly once or dead-letters it (with a reason), each aggregate in order, and leaves nothing stuck', async () => {
    console.log(`stream inbox property: seed ${SEED}, ${RUNS} runs (replay: PROPERTY_SEED=${SEED} PROPERTY_RUNS=${RUNS})`);
    // Every verdict the stream got and every outcome, hashed: a replay of the seed prints the same digest.
    const outcome = createHash('sha256');
    try {
      await fc.assert(
        fc.asyncProperty(scheduleArb, async ({ events, steps, seed }) => {
          run += 1;
          const tag = `r${run}-${seed}`;
          const stream = new SyntheticStream(tag);
          const planned = new Map<string, { fault: Fault; aggregate: string; index: number }>();
          const handledIds: string[] = [];
          const perAggregate = new Map<string, number>();
          for (const event of events) {
            const aggregate = `${tag}-a${event.aggregate}`;
            const index = (perAggregate.get(aggregate) ?? 0) + 1;
            perAggregate.set(aggregate, index);
            const name = event.handled ? 'ledger.EntryRecorded' : 'ledger.EntryCorrected';
            const { eventId } = stream.publish(name, aggregate, { accountId: aggregate, sequence: index, amount: index });
            if (event.handled) {
              planned.set(eventId, { fault: event.fault, aggregate, index });
              handledIds.push(eventId);
            }
          }
          const attempts = new Map<string, number>();
          const handler: EventSubscriber<object> = {
            async handle(event: object, context: EventContext): Promise<void> {
              const plan = planned.get(context.eventId)!;
              const attempt = (attempts.get(context.eventId) ?? 0) + 1;
              attempts.set(context.eventId, attempt);
              const fault = plan.fault;
              if ('times' in fault ? attempt <= fault.times : stream.now < fault.until) throw new Error(`planted failure ${attempt} of ${context.eventId}`);
              const { accountId, sequence, amount } = event as { accountId: string; sequence: number; amount: number };
              await context.tx.manager.query('INSERT INTO audit.seen (event_id, account_id, sequence, amount) VALUES ($1, $2, $3, $4)', [
                context.eventId,
                accountId,
                sequence,
                amount,
              ]);
            },
          };
          const replicas = auditReplicas(store, handler, 3, seededRandom(seed));

          const deliver = async (replica: number, max: number, loseAcks: boolean, hold: boolean) => {
            const ready = stream.ready(max);
            if (ready.length === 0) return;
            let afterReceive: (() => Promise<void>) | undefined;
            if (hold) {
              // Another replica is in the middle of these aggregates: their positions are locked.
              await admin.query('BEGIN');
              await admin.query(`SELECT 1 FROM audit.event_positions WHERE aggregate_id LIKE $1 FOR UPDATE`, [`${tag}-%`]);
              afterReceive = async () => void (await admin.query('COMMIT'));
            }
            await stream.deliver(ready, replicas[replica], { loseAcks, afterReceive });
          };

          for (const step of steps) {
            if (step.kind === 'advance') stream.now += step.ms;
            else await deliver(step.replica, step.max, step.loseAcks, step.hold);
          }
          // Then the stream runs undisturbed until every message is acknowledged.
          let drained = 0;
          for (; drained < DRAIN_LIMIT && stream.unacked > 0; drained++) {
            if (stream.ready(1).length === 0) stream.now = Math.max(stream.now, stream.nextReadyAt()!);
            await deliver(drained % 3, 8, false, false);
          }
          expect({ stuck: stream.unacked }).toEqual({ stuck: 0 });

          const { applied, dead } = await auditOutcome(admin, `${tag}-%`, handledIds);
          // What the run did and how it ended, for the replay's digest.
          outcome.update(JSON.stringify({ tag, history: stream.history, applied, dead: [...dead].sort() }));
          for (const eventId of handledIds) {
            const times = applied.filter((row) => row.event_id === eventId).length;
            const verdict = { eventId, ...planned.get(eventId), applied: times, deadLettered: dead.has(eventId) };
            // Exactly one of: applied once, or dead-lettered with a reason.
            expect(verdict).toEqual(expect.objectContaining(times === 1 ? { applied: 1, deadLettered: false } : { applied: 0, deadLettered: true }));
            if (dead.has(eventId)) expect(dead.get(eventId)).toEqual(expect.any(String));
          }
          for (const aggregate of perAggregate.keys()) {
            const order = applied.filter((row) => row.account_id === aggregate).map((row) => row.sequence);
            expect({ aggregate, order }).toEqual({ aggregate, order: [...order].sort((a, b) => a - b) });
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    } finally {
      console.log(`stream inbox property: seed ${SEED}, ${run} run(s), outcome digest ${outcome.digest('hex').slice(0, 16)}`);
    }
  }, 600_000);
});
