import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import type { MessagingOptions } from '../../src/platform/config/messaging-options.js';
import type { OutboxRelay } from '../../src/platform/messaging/outbox-relay.js';
import type { TransactionRunner } from '../../src/platform/messaging/transaction-runner.js';
import type { PassResult } from '../../src/platform/scheduling/wakeable-loop.js';
import { EntryRecorded } from '../fixtures/messaging/src/modules/ledger/ledger.contract.js';
import { type HandlingPlan, type PlannedSubscriber, plannedSubscriber } from '../support/planned-subscribers.js';
import { type Pause, RelayReplica } from '../support/relay-replica.js';
import { prng as seededRandom } from '../../tools/support/stats.js';
import { startTestStore, TEST_MESSAGING, type TestStore } from '../support/test-store.js';
import { propertySeed } from '../support/property-seed.js';

const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));
const RUNS = Number(process.env.PROPERTY_RUNS ?? 10);
const SEED = propertySeed();

/**
 * The unit of simulated time. The relay's times live in PostgreSQL (`now()`),
 * so the test's clock moves the rows' times back (`advance`), as the
 * database's clock would move forward. Every time the relay sets (back-offs,
 * leases) and every advance is a whole number of units, so a row is due or
 * not by a whole unit, whatever real time a run takes (less than a unit):
 * the same seed makes the same schedule.
 */
const UNIT = 60_000;
const REPLICAS = 3;
/** Back-offs of 1 or 1.5 units, then 2 or 3; leases of 3 units; three attempts before a dead letter; small batches. */
const OPTIONS: MessagingOptions = {
  ...TEST_MESSAGING,
  maxAttempts: 3,
  baseBackoffMs: 4 * UNIT,
  maxBackoffMs: 16 * UNIT,
  leaseMs: 3 * UNIT,
  batchSize: 3,
  pollIntervalMs: UNIT,
  pruneIntervalMs: 3_600_000,
};
/** Passes after the schedule before everything must be delivered or dead: beyond it, something is stuck. */
const DRAIN_LIMIT = 400;
/** Passes a relay may answer "more is due now" in a row (the loop passes again at once): beyond it, it spins. */
const FOLLOW_LIMIT = 50;
const SUBSCRIBERS = [
  ['by-handle', 'handle'],
  ['by-batch', 'batch'],
  ['by-statement', 'statement'],
] as const;

/** How one subscriber's handling of one event misbehaves. */
type Fault =
  | { readonly kind: 'none' }
  /** Its first `n` attempts fail. */
  | { readonly kind: 'times'; readonly n: number }
  /** Every attempt fails until the simulated time `at` (a long stretch). */
  | { readonly kind: 'until'; readonly at: number }
  /** Every attempt fails until an operator replays its dead letter (the bug was fixed meanwhile). */
  | { readonly kind: 'untilReplay' };

/** An event to publish: its aggregate, a payload that fails validation (a publisher's bug), a fault per subscriber. */
interface PlannedEvent {
  readonly aggregate: number;
  readonly invalid: boolean;
  readonly faults: readonly Fault[];
}

type Step =
  /** A transaction of a replica's publisher, committed or rolled back, maybe with a relay pass while it is open. */
  | {
      readonly kind: 'publish';
      readonly replica: number;
      readonly events: readonly PlannedEvent[];
      readonly rollback: boolean;
      readonly passDuring: number | null;
    }
  /** A relay pass, maybe pausing in one of its deliveries (before the handler, or after it and before the bookkeeping). */
  | { readonly kind: 'pass'; readonly replica: number; readonly pause: Pause | null }
  | { readonly kind: 'resume'; readonly replica: number }
  /** The replica's process dies (a paused pass never resumes) and a new one starts in its place. */
  | { readonly kind: 'crash'; readonly replica: number }
  | { readonly kind: 'advance'; readonly units: number }
  /** The operator replays the dead letters: all, or those of one event. */
  | { readonly kind: 'replay'; readonly pick: number | null };

const oneIn = (n: number) => fc.nat(n - 1).map((k) => k === 0);
const replicaArb = fc.nat(REPLICAS - 1);

const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('times' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('until' as const), at: fc.integer({ min: 1, max: 20 }).map((k) => k * UNIT) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'untilReplay' as const }) },
);

const eventArb: fc.Arbitrary<PlannedEvent> = fc.record({
  aggregate: fc.nat(2),
  invalid: oneIn(15),
  faults: fc.tuple(faultArb, faultArb, faultArb),
});

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      replica: replicaArb,
      events: fc.array(eventArb, { minLength: 1, maxLength: 3 }),
      rollback: oneIn(5),
      passDuring: fc.option(replicaArb, { freq: 4 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('pass' as const),
      replica: replicaArb,
      pause: fc.option(fc.record({ point: fc.constantFrom('before' as const, 'after' as const), at: fc.nat(2) }), { freq: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('resume' as const), replica: replicaArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), replica: replicaArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), units: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('replay' as const), pick: fc.option(fc.nat(9)) }) },
);

/**
 * The steps; then quiet, where the relays paused in the schedule resume first,
 * or only once the others have delivered everything (their leases long gone);
 * then maybe the operator replays every dead letter (the bugs were fixed).
 */
const scheduleArb = fc.record({
  steps: fc.array(stepArb, { minLength: 10, maxLength: 30, size: 'max' }),
  resumeLate: fc.boolean(),
  replayAtQuiet: fc.boolean(),
  seed: fc.integer(),
});

const dueOf = (result: PassResult): number | undefined => (typeof result === 'object' ? result.dueInMs : result);

/** Thrown in a publication's transaction to roll it back. */
class RolledBack extends Error {}

/** What one run knows as it goes: the simulated time, the faults, attempts, replays, and what went wrong. */
class RunState implements HandlingPlan {
  now = 0;
  readonly faults = new Map<string, readonly Fault[]>();
  readonly replayed = new Set<string>();
  readonly violations: string[] = [];
  private readonly attempts = new Map<string, number>();
  private checks: Promise<void>[] = [];

  constructor(private readonly admin: pg.Pool) {}

  fails(subscriber: string, eventId: string, event: EntryRecorded): boolean {
    const fault = this.faults.get(`${event.accountId}#${event.sequence}`)?.[SUBSCRIBERS.findIndex(([name]) => `audit.${name}` === subscriber)];
    if (!fault) throw new Error(`no plan for ${event.accountId}#${event.sequence}: an event of another run`);
    const key = `${subscriber}|${eventId}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    switch (fault.kind) {
      case 'none':
        return false;
      case 'times':
        return attempt <= fault.n;
      case 'until':
        return this.now < fault.at;
      case 'untilReplay':
        return !this.replayed.has(`${eventId}|${subscriber}`);
    }
  }

  /**
   * At the moment an event is handed to a subscriber, no earlier event of its
   * aggregate may still be pending for that subscriber (one that is pending
   * again because an operator replayed it aside): applied later, or
   * dead-lettered later, it would have been overtaken.
   */
  handedOver(subscriber: string, eventId: string): void {
    this.checks.push(
      this.admin
        .query<{ event_id: string }>(
          `SELECT e.event_id FROM ledger.outbox_deliveries d
             JOIN ledger.outbox_deliveries e
               ON e.subscriber = d.subscriber AND e.aggregate_id = d.aggregate_id AND e.position < d.position AND e.status = 'PENDING'
            WHERE d.event_id = $1 AND d.subscriber = $2`,
          [eventId, subscriber],
        )
        .then(({ rows }) => {
          const overtaken = rows.filter((row) => !this.replayed.has(`${row.event_id}|${subscriber}`));
          if (overtaken.length > 0)
            this.violations.push(`${eventId} handed to ${subscriber} while ${overtaken.map((r) => r.event_id).join(', ')} pending before it`);
        }),
    );
  }

  async checked(): Promise<void> {
    const checks = this.checks;
    this.checks = [];
    await Promise.all(checks);
  }
}

/**
 * The in-process delivery path (outbox → OutboxRelay → Inbox), searched
 * rather than exemplified (issue 27): random interleavings of publications
 * (some rolled back, some while a pass runs), three relays on one database,
 * passes in a random order, relays pausing before a handler or between it and
 * their bookkeeping past their lease (then resuming, or crashing), handler
 * failures (a few, a long stretch, until an operator's replay), payloads that
 * fail validation, clock advances, and replays of dead letters; for
 * subscribers of each form (handle, handleBatch, handleStatement), against
 * real PostgreSQL. Passes are run by the test (SteppedLoop), not by timers:
 * a seed replays its schedule.
 */
describe('outbox relay to inbox, property-based (real Postgres, stepped relays)', () => {
  let store: TestStore;
  let admin: pg.Pool;
  let ledger: DataSource;
  let audit: { db: DataSource; transactions: TransactionRunner };
  let state: RunState;
  let subscribers: PlannedSubscriber[];
  const relays: OutboxRelay[] = [];
  let run = 0;
  /** What the runs exercised, printed at the end: a property that never met a fault proves little. */
  const tally = { runs: 0, published: 0, rolledBack: 0, passes: 0, paused: 0, crashed: 0, leasesLost: 0, deadLetters: 0, replayed: 0, appliedAfterReplay: 0 };
  let warn: jest.SpiedFunction<Logger['warn']>;
  let error: jest.SpiedFunction<Logger['error']>;

  beforeAll(async () => {
    // Dead letters and lost leases are this test's daily bread: counted, not printed.
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => {});
    store = await startTestStore({}, { modulesRoot: FIXTURE_MODULES, messaging: OPTIONS });
    // The application's own relay would deliver behind the test's back.
    await store.application.messaging.stop();
    // One connection, queries queued: the checks of a pass's handovers are sent as they happen.
    admin = new pg.Pool({ connectionString: store.database.url, max: 1 });
    ledger = store.application.databases.get('ledger');
    audit = { db: store.application.databases.get('audit'), transactions: store.application.messaging.transactionsFor('audit') };
    // The subscribers ask whichever run is current.
    const plan: HandlingPlan = { fails: (...args) => state.fails(...args), handedOver: (...args) => state.handedOver(...args) };
    subscribers = SUBSCRIBERS.map(([name, style]) => plannedSubscriber(name, style, plan));
  });

  afterAll(async () => {
    warn?.mockRestore();
    error?.mockRestore();
    for (const relay of relays) await relay.stop();
    await admin?.end();
    await store?.close();
  });

  it('applies every event once per subscriber or dead-letters it with a reason, in each aggregate’s order, delivers no rolled-back one, and leaves nothing stuck', async () => {
    console.log(`outbox relay property: seed ${SEED}, ${RUNS} runs (replay: PROPERTY_SEED=${SEED} PROPERTY_RUNS=${RUNS})`);
    await fc.assert(
      fc.asyncProperty(scheduleArb, async ({ steps, resumeLate, replayAtQuiet, seed }) => {
        run += 1;
        tally.runs += 1;
        const started = performance.now();
        const tag = `r${run}`;
        // Dead letters of earlier runs would be replayed with this run's.
        await admin.query('DELETE FROM ledger.outbox_deliveries');
        state = new RunState(admin);
        const random = seededRandom(seed);
        // Back-off jitter of 0 or half: back-offs stay whole units.
        const jitter = () => (random() < 0.5 ? 0 : 0.5);
        const startReplica = async () => {
          const replica = new RelayReplica(ledger, audit, subscribers, OPTIONS, jitter);
          relays.push(replica.relay);
          await replica.start();
          return replica;
        };
        const replicas: RelayReplica[] = [];
        for (let i = 0; i < REPLICAS; i++) replicas.push(await startReplica());
        const sequences = new Map<string, number>();
        const published: Array<{ aggregate: string; sequence: number; invalid: boolean; faults: readonly Fault[] }> = [];
        const rolledBack: string[] = [];
        const recipients = subscribers.map((s) => s.registered.id);

        const advance = async (units: number) => {
          state.now += units * UNIT;
          await admin.query(
            `UPDATE ledger.outbox_deliveries
                SET next_attempt_at = next_attempt_at - make_interval(secs => $1), locked_until = locked_until - make_interval(secs => $1)`,
            [(units * UNIT) / 1000],
          );
        };

        /** One pass, and, as the real loop does, another at once while a pass answers that more is due now: each of those must find work. */
        const loopPass = async (replica: RelayReplica, pause: Pause | undefined) => {
          let result = await replica.pass(pause);
          tally.passes += 1;
          if (result === 'paused') tally.paused += 1;
          for (let follow = 0; result !== 'paused' && dueOf(result) === 0; follow++) {
            expect({ passesAnsweringDueNow: follow }).toEqual({ passesAnsweringDueNow: Math.min(follow, FOLLOW_LIMIT) });
            const before = replica.store.claimed;
            result = await replica.pass();
            expect({ answeredDueNow: true, nextPassClaimed: replica.store.claimed - before > 0 }).toEqual({ answeredDueNow: true, nextPassClaimed: true });
          }
        };

        const publish = async (step: Extract<Step, { kind: 'publish' }>) => {
          const replica = replicas[step.replica];
          // The invalid ones are written as the work runs, the others when it ends: number them in that order.
          const events = [...step.events.filter((e) => e.invalid), ...step.events.filter((e) => !e.invalid)].map((event) => {
            const aggregate = `${tag}-a${event.aggregate}`;
            const sequence = (sequences.get(aggregate) ?? 0) + 1;
            sequences.set(aggregate, sequence);
            state.faults.set(`${aggregate}#${sequence}`, event.faults);
            return { ...event, aggregate, sequence };
          });
          let announced: readonly string[] = [];
          try {
            await ledger.transaction(async (manager) => {
              const within = await replica.publisher.within(manager, async (tx) => {
                for (const event of events) {
                  if (!event.invalid) tx.publish(new EntryRecorded(event.aggregate, event.sequence, event.sequence));
                  else {
                    const payload = { accountId: event.aggregate, sequence: event.sequence, amount: 'not a number' };
                    await replica.store.write(manager, [
                      { name: 'ledger.EntryRecorded', version: 1, aggregateId: event.aggregate, payload, headers: {}, subscribers: recipients },
                    ]);
                  }
                }
              });
              // A relay passes while the transaction is open: it must not see these events.
              const during = step.passDuring === null ? undefined : replicas[step.passDuring];
              if (during && !during.isPaused) await during.pass();
              if (step.rollback) throw new RolledBack();
              announced = within.published;
            });
          } catch (error) {
            if (!(error instanceof RolledBack)) throw error;
            rolledBack.push(...events.map((e) => `${e.aggregate}#${e.sequence}`));
            tally.rolledBack += events.length;
            return;
          }
          replica.publisher.afterCommit(announced);
          published.push(...events);
          tally.published += events.length;
        };

        const replay = async (pick: number | null) => {
          const { rows } = await admin.query<{ event_id: string; subscriber: string }>(
            `SELECT event_id, subscriber FROM ledger.outbox_deliveries WHERE status = 'DEAD' ORDER BY position, subscriber`,
          );
          if (rows.length === 0) return;
          const eventId = pick === null ? undefined : rows[pick % rows.length].event_id;
          for (const row of rows) {
            if (eventId !== undefined && row.event_id !== eventId) continue;
            state.replayed.add(`${row.event_id}|${row.subscriber}`);
            tally.replayed += 1;
          }
          await replicas[0].store.replay(eventId);
        };

        for (const step of steps) {
          switch (step.kind) {
            case 'publish':
              await publish(step);
              break;
            case 'pass':
              // A paused process passes no more.
              if (!replicas[step.replica].isPaused) await loopPass(replicas[step.replica], step.pause ?? undefined);
              break;
            case 'resume':
              await replicas[step.replica].resume();
              break;
            case 'crash':
              tally.crashed += 1;
              replicas[step.replica] = await startReplica();
              break;
            case 'advance':
              await advance(step.units);
              break;
            case 'replay':
              await replay(step.pick);
              break;
          }
          await state.checked();
        }

        // Quiet: passes run until nothing is pending; each answers what the relay would sleep on, and
        // that must agree with what a pass then finds. Paused relays resume first, or (late) only after.
        const drain = async (late: boolean) => {
          if (!late) for (const replica of replicas) await replica.resume();
          let quiet = false;
          for (let pass = 0; pass < DRAIN_LIMIT && !quiet; pass++) {
            const due = await replicas[0].store.nextDueInMs();
            if (due === undefined) {
              quiet = true;
              break;
            }
            const active = replicas.filter((replica) => !replica.isPaused);
            if (active.length === 0) return drain(false);
            const replica = active[pass % active.length];
            const before = replica.store.claimed;
            await replica.pass();
            const claimed = replica.store.claimed - before;
            expect({ nextDueInMs: due, claimedSomething: claimed > 0 }).toEqual({ nextDueInMs: due, claimedSomething: due === 0 });
            if (due > 0) await advance(Math.ceil(due / UNIT));
          }
          await state.checked();
          if (replicas.some((replica) => replica.isPaused)) return drain(false);
          const left = await admin.query(
            `SELECT event_id, subscriber, attempts, next_attempt_at, locked_until, locked_by FROM ledger.outbox_deliveries WHERE status = 'PENDING'`,
          );
          expect({ quiet, pending: left.rows }).toEqual({ quiet: true, pending: [] });
        };
        await drain(resumeLate);
        if (replayAtQuiet) {
          await replay(null);
          await drain(false);
        }

        const outbox = await admin.query<{ id: string; aggregate_id: string; sequence: number }>(
          `SELECT id, aggregate_id, (payload->>'sequence')::int AS sequence FROM ledger.outbox WHERE aggregate_id LIKE $1`,
          [`${tag}-%`],
        );
        // What committed is in the outbox, and only that.
        const key = (aggregate: string, sequence: number) => `${aggregate}#${sequence}`;
        expect(outbox.rows.map((row) => key(row.aggregate_id, row.sequence)).sort()).toEqual(published.map((e) => key(e.aggregate, e.sequence)).sort());
        const idOf = new Map(outbox.rows.map((row) => [key(row.aggregate_id, row.sequence), row.id]));
        const applied = (
          await admin.query<{ event_id: string; account_id: string; sequence: number }>(
            `SELECT event_id, account_id, sequence FROM audit.seen WHERE account_id LIKE $1 ORDER BY id`,
            [`%|${tag}-%`],
          )
        ).rows;
        const dead = new Map(
          (
            await admin.query<{ event_id: string; subscriber: string; last_error: string | null; locked: boolean }>(
              `SELECT event_id, subscriber, last_error, (locked_by IS NOT NULL OR locked_until IS NOT NULL) AS locked
                 FROM ledger.outbox_deliveries WHERE status = 'DEAD'`,
            )
          ).rows.map((row) => [`${row.event_id}|${row.subscriber}`, row]),
        );
        for (const [index, [name]] of SUBSCRIBERS.entries()) {
          const subscriber = `audit.${name}`;
          for (const event of published) {
            const eventId = idOf.get(key(event.aggregate, event.sequence))!;
            const times = applied.filter((row) => row.event_id === eventId && row.account_id === `${subscriber}|${event.aggregate}`).length;
            const letter = dead.get(`${eventId}|${subscriber}`);
            const verdict = {
              subscriber,
              event: key(event.aggregate, event.sequence),
              fault: event.invalid ? 'invalid payload' : event.faults[index],
              applied: times,
              deadLettered: letter !== undefined,
            };
            // Exactly one of: applied once, or dead-lettered (kept, with its reason, held by nobody).
            expect(verdict).toEqual({ ...verdict, ...(times === 1 ? { applied: 1, deadLettered: false } : { applied: 0, deadLettered: true }) });
            if (letter)
              expect({ ...verdict, reason: letter.last_error, locked: letter.locked }).toEqual({
                ...verdict,
                reason: expect.stringMatching(/\S/),
                locked: false,
              });
            // A bad payload is a dead letter at once, saying why; a handler that never fails applies (whatever came before it).
            if (event.invalid)
              expect({ ...verdict, reason: letter?.last_error }).toEqual({
                ...verdict,
                applied: 0,
                reason: expect.stringMatching(/invalid ledger\.EntryRecorded payload/),
              });
            else if (event.faults[index].kind === 'none') expect(verdict).toEqual({ ...verdict, applied: 1 });
          }
          // Each aggregate in publication order (an event an operator replayed is applied where the replay puts it).
          for (const aggregate of sequences.keys()) {
            const order = applied
              .filter((row) => row.account_id === `${subscriber}|${aggregate}` && !state.replayed.has(`${row.event_id}|${subscriber}`))
              .map((row) => row.sequence);
            expect({ subscriber, aggregate, order }).toEqual({ subscriber, aggregate, order: [...order].sort((a, b) => a - b) });
          }
        }
        tally.appliedAfterReplay += applied.filter((row) => state.replayed.has(`${row.event_id}|${row.account_id.split('|')[0]}`)).length;
        // A rolled-back publication is never delivered.
        expect(applied.filter((row) => rolledBack.includes(key(row.account_id.split('|')[1], row.sequence)))).toEqual([]);
        expect(state.violations).toEqual([]);
        // The time model (rows due by whole units) holds only for runs shorter than a unit.
        expect({ runShorterThanUnit: performance.now() - started < UNIT / 2 }).toEqual({ runShorterThanUnit: true });
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    tally.leasesLost = warn.mock.calls.filter(([line]) => /lost the lease/.test(String(line))).length;
    tally.deadLetters = error.mock.calls.filter(([line]) => /^dead letter/.test(String(line))).length;
    console.log(`outbox relay property: ${JSON.stringify(tally)}`);
  }, 600_000);
});
