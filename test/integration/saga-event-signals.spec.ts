import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import type { SagaRunner } from '../../src/platform/sagas/saga-runner.js';
import { WAITER_SAGA } from '../fixtures/waits/src/modules/waiter/waiter.module.js';
import { eventually } from '../support/eventually.js';
import { NATS_URL } from '../support/nats.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/waits/src/modules/', import.meta.url));

/**
 * A saga of one module (waiter) that waits for another module's integration
 * event (ledger's EntryRecorded of the account it is keyed by), as signals
 * (ADR 29): published through ledger's outbox and taken by waiter's inbox,
 * in one process, and across two processes through JetStream.
 */
describe("a saga waits for another module's integration event", () => {
  let database: TestDatabase;
  const stores: TestStore[] = [];
  let prefix: string | undefined;

  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    for (const store of stores.splice(0).reverse()) await store.close().catch(() => {});
    await database.drop();
    if (prefix) await deleteEventStream(NATS_URL, prefix).catch(() => {});
    prefix = undefined;
  });

  const start = async (env: Record<string, string>) => {
    const store = await startTestStore(env, { modulesRoot: FIXTURE_MODULES, database });
    stores.push(store);
    return store;
  };

  async function waitFor(waiter: TestStore, account: string): Promise<void> {
    const runner = waiter.application.app.get<SagaRunner<{ key: string }>>(WAITER_SAGA, { strict: false });
    await waiter.application.databases
      .get('waiter')
      .query(`WITH ${runner.store.startSql({ key: '$1::text', deadlineMs: 'NULL::int', traceContext: `'{}'::jsonb`, leaseMs: 'NULL::int' })} SELECT 1`, [
        account,
      ]);
    runner.wake();
    await eventually(async () => expect(await saga(account)).toMatchObject({ status: 'WAITING', step: 'AWAIT_ENTRY' }));
  }

  async function saga(account: string): Promise<{ status: string; step: string; outputs: Record<string, unknown> } | undefined> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query(`SELECT status, step, outputs FROM waiter.sagas WHERE saga = 'await-entry' AND key = $1`, [account])).rows[0];
    } finally {
      await client.end();
    }
  }

  async function outcome(account: string): Promise<{ outcome: string; signalled_by: string | null } | undefined> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query('SELECT outcome, signalled_by FROM waiter.outcomes WHERE account_id = $1', [account])).rows[0];
    } finally {
      await client.end();
    }
  }

  const record = async (ledger: TestStore, accountId: string) => {
    const response = await http(ledger, 'POST', '/ledger/entries', { accountId, amount: 1 });
    expect(response.status).toBe(201);
  };

  it('in one process: the event goes through the outbox and the inbox, and ends the wait', async () => {
    const store = await start({});
    await waitFor(store, 'acct-1');
    await record(store, 'acct-other');
    await record(store, 'acct-1');
    await eventually(async () => expect(await saga('acct-1')).toMatchObject({ status: 'DONE', outputs: { AWAIT_ENTRY: 'ledger.EntryRecorded' } }));
    expect(await saga('acct-other')).toBeUndefined();
    // Its effect (an upsert of the waiter's own table, ADR 35) ran with the wait's end and with the saga's.
    expect(await outcome('acct-1')).toEqual({ outcome: 'NOTED', signalled_by: 'ledger.EntryRecorded' });
  }, 60_000);

  it("across processes through JetStream: an independently running publisher's event ends the wait", async () => {
    prefix = `t${randomBytes(4).toString('hex')}`;
    const env = { NATS_URL, NATS_SUBJECT_PREFIX: prefix, SERVICE_TOKEN: randomBytes(16).toString('hex') };
    const waiter = await start({ ...env, MODULES: 'waiter', GATEWAY: 'off' });
    const ledger = await start({ ...env, MODULES: 'ledger', GATEWAY: 'on' });
    await waitFor(waiter, 'acct-2');
    await record(ledger, 'acct-2');
    await eventually(async () => expect(await saga('acct-2')).toMatchObject({ status: 'DONE', outputs: { AWAIT_ENTRY: 'ledger.EntryRecorded' } }));
    expect(await outcome('acct-2')).toEqual({ outcome: 'NOTED', signalled_by: 'ledger.EntryRecorded' });
  }, 90_000);
});
