import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect, headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import pg from 'pg';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { faults } from '../fixtures/messaging/src/modules/audit/faults.js';
import { eventually } from '../support/eventually.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';
import type { MessagingOptions } from '../../src/platform/config/messaging-options.js';

const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));

interface Seen {
  readonly event_id: string;
  readonly account_id: string;
  readonly sequence: number;
  readonly amount: number;
}

/**
 * The delivery guarantees across processes, on the real JetStream server: a
 * publisher (ledger) and a subscriber (audit) in separate store applications,
 * each on its own Postgres schema of one database, sharing a NATS prefix.
 */
describeWithNats('events across processes on JetStream', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  const processes: TestStore[] = [];

  beforeEach(async () => {
    faults.reset();
    database = await createTestDatabase();
    env = { NATS_URL, NATS_SUBJECT_PREFIX: `t${randomBytes(4).toString('hex')}`, SERVICE_TOKEN: randomBytes(16).toString('hex') };
  });

  afterEach(async () => {
    for (const store of processes.splice(0).reverse()) await store.close().catch(() => {});
    await database.drop();
    await deleteEventStream(NATS_URL, env.NATS_SUBJECT_PREFIX);
  });

  const start = async (modules: string, messaging?: Partial<MessagingOptions>) => {
    const store = await startTestStore(
      { ...env, MODULES: modules, GATEWAY: modules === 'ledger' ? 'on' : 'off' },
      { modulesRoot: FIXTURE_MODULES, database, messaging },
    );
    processes.push(store);
    return store;
  };
  const stop = async (store: TestStore) => {
    processes.splice(processes.indexOf(store), 1);
    await store.close();
  };
  const record = async (ledger: TestStore, accountId: string, amount: number) => {
    const response = await http(ledger, 'POST', '/ledger/entries', { accountId, amount });
    expect(response.status).toBe(201);
  };
  const seen = async (): Promise<Seen[]> => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<Seen>('SELECT event_id, account_id, sequence, amount FROM audit.seen ORDER BY id')).rows;
    } finally {
      await client.end();
    }
  };
  const expectInOrder = (rows: readonly Seen[]) => {
    for (const account of new Set(rows.map((row) => row.account_id))) {
      const sequences = rows.filter((row) => row.account_id === account).map((row) => row.sequence);
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    }
  };

  it('two replicas of the subscriber share its consumer: each event once, each aggregate in order, through retries', async () => {
    const ledger = await start('ledger');
    await start('audit');
    await start('audit');
    faults.delayMs = 5;
    // Some events fail their first attempts: they are retried while the replicas go on with others.
    for (const amount of [7, 19, 33, 58]) faults.failTimes.set(amount, 2);
    const posts: Promise<void>[] = [];
    for (let amount = 1; amount <= 120; amount++) posts.push(record(ledger, `a${amount % 4}`, amount));
    await Promise.all(posts);
    await eventually(async () => expect((await seen()).length).toBe(120), 20_000);
    const rows = await seen();
    expect(new Set(rows.map((row) => row.event_id)).size).toBe(120);
    expectInOrder(rows);
    // Both replicas took part, and the retried ones were handled exactly once.
    expect([...faults.attempts.values()].filter((attempts) => attempts > 1).length).toBeGreaterThanOrEqual(4);
    expect(rows.filter((row) => [7, 19, 33, 58].includes(row.amount))).toHaveLength(4);
  });

  it('dead-letters an event per subscriber after its attempts, lets its aggregate go on, and replays it', async () => {
    const ledger = await start('ledger');
    const audit = await start('audit');
    faults.alwaysFail.add(2);
    for (let amount = 1; amount <= 4; amount++) await record(ledger, 'acct', amount);
    await eventually(async () => expect((await seen()).map((row) => row.amount)).toEqual([1, 3, 4]), 20_000);
    const [letter] = await audit.application.messaging.deadLetters('audit');
    expect(letter).toMatchObject({ subscriber: 'audit.on-entry-recorded', name: 'ledger.EntryRecorded', aggregateId: 'acct', attempts: 4 });
    expect(letter.lastError).toMatch(/planted failure for amount 2/);
    // The publisher's outbox is done with it: the dead letter is the subscriber's.
    expect(await ledger.application.messaging.stats()).toMatchObject({ ledger: { pending: 0, dead: 0 } });
    expect(await audit.application.messaging.stats()).toMatchObject({ audit: { dead: 1 } });

    faults.alwaysFail.clear();
    expect(await audit.application.messaging.replay('audit')).toBe(1);
    await eventually(async () => expect((await seen()).map((row) => row.amount)).toEqual([1, 3, 4, 2]));
    await eventually(async () => expect(await audit.application.messaging.stats()).toMatchObject({ audit: { pending: 0, dead: 0 } }));
  });

  it('dead-letters, never drops, a predecessor that comes back after its successor gave up waiting for it', async () => {
    const ledger = await start('ledger');
    // The first event fails once and waits seconds for its retry; its successor gives up waiting after 10 ordering waits.
    const audit = await start('audit', { maxAttempts: 2, baseBackoffMs: 4_000, maxBackoffMs: 4_000, orderingWaitsPerAttempt: 5 });
    faults.failTimes.set(1, 1);
    await record(ledger, 'gap', 1);
    await record(ledger, 'gap', 2);
    await eventually(async () => expect(await audit.application.messaging.deadLetters('audit')).toHaveLength(1), 20_000);
    await record(ledger, 'gap', 3);
    // The aggregate went on without them; the first, back from its retry, is kept as a dead letter, not taken for a duplicate.
    await eventually(async () => expect((await seen()).map((row) => row.amount)).toEqual([3]), 20_000);
    await eventually(async () => {
      const letters = await audit.application.messaging.deadLetters('audit');
      expect(letters.map((letter) => letter.lastError)).toEqual([
        expect.stringMatching(/previous event \(stream position \d+\) never arrived/),
        expect.stringMatching(/arrived after its aggregate went past it/),
      ]);
    }, 20_000);
    // Replayed, each is applied once; a redelivery of the late one afterwards changes nothing.
    expect(await audit.application.messaging.replay('audit')).toBe(2);
    await eventually(async () => expect((await seen()).map((row) => row.amount).sort()).toEqual([1, 2, 3]));
  });

  it('a subscriber deployed later gets every event from its first start on, also of aggregates begun before it', async () => {
    const ledger = await start('ledger');
    for (let amount = 1; amount <= 5; amount++) await record(ledger, `b${amount % 2}`, amount);
    // Published before audit ever existed: history it was not there for.
    await eventually(async () => expect(await ledger.application.messaging.stats()).toMatchObject({ ledger: { pending: 0 } }));
    let audit = await start('audit');
    for (let amount = 6; amount <= 10; amount++) await record(ledger, `b${amount % 2}`, amount);
    await eventually(async () => expect((await seen()).map((row) => row.amount).sort((a, b) => a - b)).toEqual([6, 7, 8, 9, 10]));

    // Stopped, events go on; a new start (a newer build, say) of it takes them up where it left off.
    await stop(audit);
    for (let amount = 11; amount <= 14; amount++) await record(ledger, `b${amount % 2}`, amount);
    audit = await start('audit');
    await start('audit');
    for (let amount = 15; amount <= 16; amount++) await record(ledger, `b${amount % 2}`, amount);
    await eventually(async () => expect((await seen()).length).toBe(11));
    const rows = await seen();
    expect(rows.map((row) => row.amount).sort((a, b) => a - b)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    expect(new Set(rows.map((row) => row.event_id)).size).toBe(11);
    expectInOrder(rows);
    // Operators see the consumer's lag on /health/events and /metrics of every replica.
    await eventually(async () => {
      const events = await http(audit, 'GET', '/health/events');
      expect(events.status).toBe(200);
      expect(events.body).toEqual({
        status: 'ok',
        outboxes: { audit: { pending: 0, dead: 0, oldestPendingAgeMs: 0 } },
        consumers: [{ consumer: 'audit_on-entry-recorded_from_ledger', publisher: 'ledger', pending: 0, unacknowledged: 0, redelivered: 0 }],
      });
    });
    const metrics = await fetch(`${audit.url}/metrics`).then((response) => response.text());
    expect(metrics).toContain('event_consumer_pending{consumer="audit_on-entry-recorded_from_ledger",publisher="ledger"} 0');
    expect(metrics).toContain('event_consumer_redelivered{consumer="audit_on-entry-recorded_from_ledger",publisher="ledger"} 0');
  });

  it('takes an event published twice once, and refuses stream messages without the token or that are no event', async () => {
    const ledger = await start('ledger');
    await start('audit');
    await record(ledger, 'c', 1);
    await eventually(async () => expect(await seen()).toHaveLength(1));
    const connection = await connect({ servers: NATS_URL });
    try {
      const js = jetstream(connection);
      const subject = `${env.NATS_SUBJECT_PREFIX}.events.ledger.EntryRecorded`;
      const envelope = {
        id: randomUUID(),
        name: 'ledger.EntryRecorded',
        version: 1,
        publisher: 'ledger',
        aggregateId: 'c',
        occurredAt: new Date().toISOString(),
        payload: { accountId: 'c', sequence: 2, amount: 2 },
        headers: {},
      };
      const withToken = (token: string | undefined) => {
        const h = headers();
        if (token !== undefined) h.set('Mf-Service-Token', token);
        return h;
      };
      // A stranger (no token, a wrong one) and garbage: dropped, logged, nothing handled.
      await js.publish(subject, JSON.stringify({ ...envelope, id: randomUUID(), payload: { accountId: 'c', sequence: 9, amount: 9 } }), {
        headers: withToken(undefined),
      });
      await js.publish(subject, JSON.stringify({ ...envelope, id: randomUUID(), payload: { accountId: 'c', sequence: 9, amount: 9 } }), {
        headers: withToken('wrong'),
      });
      await js.publish(subject, 'not json {', { headers: withToken(env.SERVICE_TOKEN) });
      await js.publish(subject, JSON.stringify({ id: 'x', __proto__: { polluted: true } }), { headers: withToken(env.SERVICE_TOKEN) });
      // The same event twice in the stream (as after a dedup window passed): handled once.
      await js.publish(subject, JSON.stringify(envelope), { headers: withToken(env.SERVICE_TOKEN), msgID: `${envelope.id}-a` });
      await js.publish(subject, JSON.stringify(envelope), { headers: withToken(env.SERVICE_TOKEN), msgID: `${envelope.id}-b` });
      await record(ledger, 'd', 3);
      await eventually(async () => expect((await seen()).map((row) => row.amount)).toEqual([1, 2, 3]));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await seen()).map((row) => row.amount)).toEqual([1, 2, 3]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    } finally {
      await connection.close();
    }
  });
});
