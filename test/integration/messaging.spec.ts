import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { OutboxStore } from '../../src/platform/messaging/outbox.store.js';
import type { ContractClient } from '../../src/platform/contracts/contract.js';
import type { EventEnvelope } from '../../src/platform/contracts/integration-event.js';
import type { DeliveryClaim } from '../../src/platform/messaging/message-bus.js';
import { faults } from '../fixtures/messaging/src/modules/audit/faults.js';
import { LedgerContract } from '../fixtures/messaging/src/modules/ledger/ledger.contract.js';
import { eventually } from '../support/eventually.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { startTestStore, type TestStore } from '../support/test-store.js';

const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));
const SUBSCRIBER = 'audit.on-entry-recorded';

type Ledger = ContractClient<typeof LedgerContract>;

const ledgerOf = (store: TestStore): Ledger => store.application.app.get(LedgerContract.client, { strict: false });

async function seen(store: TestStore): Promise<Array<{ event_id: string; account_id: string; sequence: number; amount: number }>> {
  return store.application.databases.get('audit').query('SELECT event_id, account_id, sequence, amount FROM audit.seen ORDER BY id');
}

/** Deliveries made: a delivery leaves the queue when it is made, its event stays (one subscriber here). */
async function deliveriesMade(store: TestStore): Promise<number> {
  const [row] = await store.application.databases
    .get('ledger')
    .query(`SELECT count(*)::int AS n FROM ledger.outbox o WHERE NOT EXISTS (SELECT 1 FROM ledger.outbox_deliveries d WHERE d.event_id = o.id)`);
  return row.n;
}

/** Deliveries still in the queue, of one status or all. */
async function deliveries(store: TestStore, status?: string): Promise<number> {
  const [row] = await store.application.databases
    .get('ledger')
    .query(`SELECT count(*)::int AS n FROM ledger.outbox_deliveries WHERE $1::text IS NULL OR status = $1`, [status ?? null]);
  return row.n;
}

describe('reliable in-process events: outbox, relay, inbox (real Postgres)', () => {
  let database: TestDatabase;
  let store: TestStore;

  beforeEach(async () => {
    faults.reset();
    database = await createTestDatabase();
    store = await startTestStore({}, { modulesRoot: FIXTURE_MODULES, database });
  });

  afterEach(async () => {
    await store?.close();
    await database?.drop();
  });

  it('writes the event in the same transaction as the change and delivers it to the subscriber', async () => {
    const entry = await ledgerOf(store).recordEntry({ accountId: 'acc-1', amount: 5 });
    expect(entry).toEqual({ accountId: 'acc-1', sequence: 1 });
    await eventually(async () => expect(await seen(store)).toHaveLength(1));
    const [row] = await seen(store);
    expect(row).toMatchObject({ account_id: 'acc-1', sequence: 1, amount: 5 });
    await eventually(async () => expect(await deliveriesMade(store)).toBe(1));
    expect(await store.application.messaging.stats()).toMatchObject({ ledger: { pending: 0, dead: 0, oldestPendingAgeMs: 0 } });
  });

  it('writes nothing, event included, when the transaction fails', async () => {
    const transactions = store.application.messaging.transactionsFor('ledger');
    const { EntryRecorded } = await import('../fixtures/messaging/src/modules/ledger/ledger.contract.js');
    await expect(
      transactions.run(async (tx) => {
        tx.publish(new EntryRecorded('acc-x', 1, 1));
        throw new Error('business rule broken');
      }),
    ).rejects.toThrow('business rule broken');
    const [row] = await store.application.databases.get('ledger').query('SELECT count(*)::int AS n FROM ledger.outbox');
    expect(row.n).toBe(0);
  });

  it('refuses to publish an invalid event or another module’s event, and rolls back', async () => {
    const transactions = store.application.messaging.transactionsFor('audit');
    const { EntryRecorded } = await import('../fixtures/messaging/src/modules/ledger/ledger.contract.js');
    await expect(transactions.run(async (tx) => tx.publish(new EntryRecorded('a', 1, 1)))).rejects.toThrow(
      "module 'audit' may only publish its own events, not 'ledger.EntryRecorded'",
    );
    const ledger = store.application.messaging.transactionsFor('ledger');
    await expect(ledger.run(async (tx) => tx.publish(new EntryRecorded('a', 1.5, 1)))).rejects.toThrow(
      /invalid ledger.EntryRecorded: sequence must be an integer/,
    );
  });

  describe('a one-statement unit of work (TransactionRunner.statement)', () => {
    const RECORD = `INSERT INTO ledger.accounts (id, last_sequence) VALUES ($1, 1)
                    ON CONFLICT (id) DO UPDATE SET last_sequence = accounts.last_sequence + 1
                    RETURNING last_sequence`;
    const accounts = async (id: string): Promise<number> =>
      (await store.application.databases.get('ledger').query('SELECT count(*)::int AS n FROM ledger.accounts WHERE id = $1', [id]))[0].n;
    const outboxRows = async (): Promise<number> =>
      (await store.application.databases.get('ledger').query('SELECT count(*)::int AS n FROM ledger.outbox'))[0].n;

    it('commits the change and a subscribed event together, and the event is delivered', async () => {
      const { EntryRecorded } = await import('../fixtures/messaging/src/modules/ledger/ledger.contract.js');
      const rows = await store.application.messaging.transactionsFor('ledger').statement<{ last_sequence: number }>('record-entry', RECORD, ['acc-stmt'], {
        types: [EntryRecorded],
        of: ([row]) => [new EntryRecorded('acc-stmt', Number(row.last_sequence), 9)],
      });
      expect(rows).toEqual([{ last_sequence: 1 }]);
      await eventually(async () => expect(await seen(store)).toEqual([expect.objectContaining({ account_id: 'acc-stmt', sequence: 1, amount: 9 })]));
    });

    it('rolls the statement back when the event it publishes is invalid', async () => {
      const { EntryRecorded } = await import('../fixtures/messaging/src/modules/ledger/ledger.contract.js');
      await expect(
        store.application.messaging.transactionsFor('ledger').statement('record-entry', RECORD, ['acc-bad-stmt'], {
          types: [EntryRecorded],
          of: () => [new EntryRecorded('acc-bad-stmt', 1.5, 1)],
        }),
      ).rejects.toThrow(/invalid ledger.EntryRecorded: sequence must be an integer/);
      expect(await accounts('acc-bad-stmt')).toBe(0);
      expect(await outboxRows()).toBe(0);
    });

    it('runs alone, storing nothing, when no event type it may publish has a subscriber', async () => {
      const { IntegrationEvent } = await import('../../src/platform/contracts/integration-event.js');
      @IntegrationEvent({ name: 'ledger.AccountOpened', version: 1, aggregateKey: 'accountId' })
      class AccountOpened {
        constructor(readonly accountId: string) {}
      }
      const ledger = store.application.messaging.transactionsFor('ledger');
      expect(ledger.stores(AccountOpened)).toBe(false);
      const built: string[] = [];
      await ledger.statement('record-entry', RECORD, ['acc-alone'], {
        types: [AccountOpened],
        of: () => {
          built.push('AccountOpened');
          return [new AccountOpened('acc-alone')];
        },
      });
      expect(await accounts('acc-alone')).toBe(1);
      // Nobody could receive it, so it was neither built nor stored.
      expect(built).toEqual([]);
      expect(await outboxRows()).toBe(0);
    });
  });

  it('keeps per-aggregate order for every subscriber, even with shuffled timing and retries', async () => {
    faults.delayMs = 4;
    faults.failTimes.set(3, 2); // every event with amount 3 fails twice before it succeeds
    const accounts = Array.from({ length: 8 }, (_, i) => `acc-${i}`);
    await Promise.all(
      accounts.map(async (accountId) => {
        for (let amount = 1; amount <= 12; amount++) await ledgerOf(store).recordEntry({ accountId, amount });
      }),
    );
    await eventually(async () => expect(await seen(store)).toHaveLength(96));
    const rows = await seen(store);
    for (const accountId of accounts) {
      const sequences = rows.filter((row) => row.account_id === accountId).map((row) => row.sequence);
      expect(sequences).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    }
  });

  it('retries a failing handler with back-off, then dead-letters it visibly, and replays it on demand', async () => {
    faults.alwaysFail.add(13);
    await ledgerOf(store).recordEntry({ accountId: 'acc-ok', amount: 1 });
    await eventually(async () => expect(await seen(store)).toHaveLength(1));
    // Alone in its batches, so its handler runs exactly once per counted attempt (a batch that
    // fails is taken again event by event, running a batch handler once more, rolled back).
    await ledgerOf(store).recordEntry({ accountId: 'acc-dead', amount: 13 });
    await eventually(async () => expect(await deliveries(store, 'DEAD')).toBe(1));
    const [dead] = await store.application.messaging.deadLetters('ledger');
    expect(dead).toMatchObject({
      subscriber: SUBSCRIBER,
      name: 'ledger.EntryRecorded',
      aggregateId: 'acc-dead',
      attempts: 4,
      lastError: 'Error: planted failure for amount 13',
    });
    expect(faults.attempts.get(dead.eventId)).toBe(4);
    expect((await seen(store)).map((row) => row.account_id)).toEqual(['acc-ok']);
    expect(await store.application.messaging.stats()).toMatchObject({ ledger: { pending: 0, dead: 1 } });

    faults.alwaysFail.clear();
    expect(await store.application.messaging.replay('ledger', dead.eventId)).toBe(1);
    await eventually(async () => expect((await seen(store)).map((row) => row.account_id).sort()).toEqual(['acc-dead', 'acc-ok']));
    expect(await deliveries(store, 'DEAD')).toBe(0);
  });

  it('dead-letters at once a payload that fails validation on receipt: retrying cannot fix it', async () => {
    await store.application.databases.get('ledger').transaction(async (manager) => {
      await store.application.messaging.store('ledger').write(manager, [
        {
          name: 'ledger.EntryRecorded',
          version: 1,
          aggregateId: 'acc-bad',
          payload: { accountId: 'acc-bad', sequence: 'one', amount: 1 },
          headers: {},
          subscribers: [SUBSCRIBER],
        },
      ]);
    });
    store.application.messaging.wake('ledger');
    await eventually(async () => expect(await deliveries(store, 'DEAD')).toBe(1));
    const [dead] = await store.application.messaging.deadLetters('ledger');
    expect(dead.attempts).toBe(1);
    expect(dead.lastError).toMatch(/PoisonMessageError: invalid ledger.EntryRecorded payload: sequence must be an integer/);
  });

  it('applies a duplicate delivery once: the inbox drops it', async () => {
    await ledgerOf(store).recordEntry({ accountId: 'acc-dup', amount: 2 });
    await eventually(async () => expect(await seen(store)).toHaveLength(1));
    await eventually(async () => expect(await deliveriesMade(store)).toBe(1));
    const [row] = await store.application.databases.get('ledger').query('SELECT * FROM ledger.outbox');
    const envelope: EventEnvelope = {
      id: row.id,
      name: row.name,
      version: row.version,
      publisher: 'ledger',
      aggregateId: row.aggregate_id,
      occurredAt: row.occurred_at.toISOString(),
      payload: row.payload,
      headers: row.headers,
    };
    // Twice straight through the bus, and once more by the relay as if its acknowledgement had been lost.
    await store.application.messaging.bus.deliver(SUBSCRIBER, envelope);
    await store.application.messaging.bus.deliver(SUBSCRIBER, envelope);
    await store.application.databases
      .get('ledger')
      .query(`INSERT INTO ledger.outbox_deliveries (event_id, subscriber, position, aggregate_id) SELECT id, $1, position, aggregate_id FROM ledger.outbox`, [
        SUBSCRIBER,
      ]);
    store.application.messaging.wake('ledger');
    await eventually(async () => expect(await deliveriesMade(store)).toBe(1));
    expect(await seen(store)).toHaveLength(1);
  });

  it('loses nothing when the process dies after commit and before delivery', async () => {
    // Stop delivering, commit events, then drop the process without a graceful stop.
    await store.application.messaging.stop();
    for (let i = 1; i <= 20; i++) await ledgerOf(store).recordEntry({ accountId: `acc-${i % 3}`, amount: i });
    expect(await seen(store)).toHaveLength(0);
    expect(await deliveries(store, 'PENDING')).toBe(20);
    await store.application.app.close();
    await store.application.databases.close();

    store = await startTestStore({}, { modulesRoot: FIXTURE_MODULES, database });
    await eventually(async () => expect(await seen(store)).toHaveLength(20));
    expect(await deliveriesMade(store)).toBe(20);
  });

  it("relaxes only its own bookkeeping's commits: every pooled connection still commits durably", async () => {
    for (let i = 1; i <= 10; i++) await ledgerOf(store).recordEntry({ accountId: `acc-${i % 3}`, amount: i });
    await eventually(async () => expect(await deliveriesMade(store)).toBe(10));
    // The relay's statements set synchronous_commit for their own transaction only: a session-wide
    // setting would reach the business transactions that share the pool.
    const pool = (store.application.databases.get('ledger').driver as unknown as { master: import('pg').Pool }).master;
    const clients = await Promise.all(Array.from({ length: Math.max(1, pool.totalCount) }, () => pool.connect()));
    try {
      for (const client of clients) expect((await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit).toBe('on');
    } finally {
      for (const client of clients) client.release();
    }
  });

  it('claims what a commit in this process wrote by key: no scan of the queue per event', async () => {
    // The recovery poll scans on a timer: made rare here, so that the scans counted are a commit's.
    await store.close();
    store = await startTestStore({}, { modulesRoot: FIXTURE_MODULES, database, messaging: { pollIntervalMs: 60_000 } });
    const scans = jest.spyOn(OutboxStore.prototype, 'claim');
    const byKey = jest.spyOn(OutboxStore.prototype, 'claimEvents');
    try {
      for (let i = 1; i <= 20; i++) {
        await ledgerOf(store).recordEntry({ accountId: `acc-${i % 3}`, amount: i });
        await eventually(async () => expect(await seen(store)).toHaveLength(i));
      }
      await eventually(async () => expect(await deliveriesMade(store)).toBe(20));
      expect(byKey.mock.calls.length).toBeGreaterThanOrEqual(20);
      // A scan follows a claim by key only when something else came due: never here, one commit at a time.
      expect(scans.mock.calls.length).toBeLessThan(3);
    } finally {
      scans.mockRestore();
      byKey.mockRestore();
    }
  });

  it('never delivers a row twice with two relays on one database', async () => {
    const second = await startTestStore({}, { modulesRoot: FIXTURE_MODULES, database });
    try {
      const delivered: string[] = [];
      for (const instance of [store, second]) {
        const bus = instance.application.messaging.bus;
        const original = bus.deliver.bind(bus);
        bus.deliver = async (subscriber: string, envelope: EventEnvelope, ...claim: [number | null, DeliveryClaim | null]) => {
          delivered.push(`${envelope.id}/${subscriber}`);
          return original(subscriber, envelope, ...claim);
        };
        // Several at once for one subscriber go as one batch (an inbox in this process takes batches).
        const originalBatch = bus.deliverBatch.bind(bus);
        bus.deliverBatch = async (subscriber: string, envelopes: readonly EventEnvelope[], claims?: readonly DeliveryClaim[]) => {
          for (const envelope of envelopes) delivered.push(`${envelope.id}/${subscriber}`);
          return originalBatch(subscriber, envelopes, claims);
        };
      }
      await Promise.all(
        Array.from({ length: 10 }, async (_, account) => {
          for (let n = 0; n < 20; n++) {
            await ledgerOf(n % 2 === 0 ? store : second).recordEntry({ accountId: `acc-${account}`, amount: n });
          }
        }),
      );
      await eventually(async () => expect(await seen(store)).toHaveLength(200));
      await eventually(async () => expect(await deliveriesMade(store)).toBe(200));
      expect(delivered).toHaveLength(200);
      expect(new Set(delivered).size).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('keeps the queue small: a delivery made leaves it, and the relay vacuums it as deliveries go', async () => {
    await store.close();
    store = await startTestStore({}, { modulesRoot: FIXTURE_MODULES, database, messaging: { queueVacuumEvery: 20, queueVacuumIntervalMs: 0 } });
    const ledger = store.application.databases.get('ledger');
    const vacuums = async () => {
      // The statistics of another backend's vacuum reach this one's snapshot of them only after it is cleared.
      await ledger.query('SELECT pg_stat_clear_snapshot()');
      const [row] = await ledger.query(`SELECT vacuum_count::int AS n FROM pg_stat_user_tables WHERE schemaname = 'ledger' AND relname = 'outbox_deliveries'`);
      return row.n as number;
    };
    const before = await vacuums();
    for (let i = 1; i <= 60; i++) await ledgerOf(store).recordEntry({ accountId: `acc-${i % 4}`, amount: i });
    await eventually(async () => expect(await seen(store)).toHaveLength(60));
    await eventually(async () => expect(await deliveriesMade(store)).toBe(60));
    expect(await deliveries(store)).toBe(0);
    await eventually(async () => expect(await vacuums()).toBeGreaterThan(before), 10_000, 100);
  });

  it('prunes delivered events and inbox records past the retention, keeping what is pending or dead', async () => {
    faults.alwaysFail.add(13);
    await ledgerOf(store).recordEntry({ accountId: 'acc-p', amount: 1 });
    await ledgerOf(store).recordEntry({ accountId: 'acc-q', amount: 13 });
    await eventually(async () => expect(await deliveriesMade(store)).toBe(1));
    await eventually(async () => expect(await deliveries(store, 'DEAD')).toBe(1));
    const pruned = await store.application.messaging.store('ledger').prune(0);
    expect(pruned.events).toBe(1);
    expect(await store.application.messaging.store('audit').prune(0)).toEqual({ events: 0, inbox: 1 });
    expect(await deliveries(store)).toBe(1);
  });
});
