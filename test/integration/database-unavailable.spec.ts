import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { DATABASE_FAULTS } from '../fixtures/messaging/src/modules/ledger/database-faults.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));

/**
 * A connection lost or refused under a request, for every way a restart or a
 * broken network shows it (57P01, 57P03, 08006, 08003, the socket's end,
 * ECONNRESET, a transaction whose connection died between two queries), is a
 * 503 problem+json with Retry-After: the request may be retried, nothing was
 * done. Never a 500, in the process that owns the database or across NATS.
 * The faults are real: the server raises the SQLSTATE, or ends the backend,
 * or the socket under a running query breaks (the ledger fixture plants them).
 */
async function expectUnavailable(store: TestStore, fault: string): Promise<void> {
  const response = await http(store, 'POST', '/ledger/entries', { accountId: `fault:${fault}`, amount: 1 });
  expect({ fault, status: response.status }).toEqual({ fault, status: 503 });
  expect(response.headers.get('retry-after')).toBe('1');
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(JSON.stringify(response.body)).not.toMatch(/SELECT|INSERT|planted|ECONNRESET|57P|0800/);
  // The store goes on: the next entry is written.
  expect((await http(store, 'POST', '/ledger/entries', { accountId: 'healthy', amount: 1 })).status).toBe(201);
}

describe('a lost database connection at the HTTP layer (one process)', () => {
  let store: TestStore | undefined;

  beforeAll(async () => {
    store = await startTestStore({ LOG_LEVEL: 'fatal' }, { modulesRoot: FIXTURE_MODULES });
  });

  afterAll(async () => {
    await store?.close();
  });

  it.each(DATABASE_FAULTS)('%s is a 503 with Retry-After', async (fault) => {
    await expectUnavailable(store!, fault);
  });
});

describeWithNats('a lost database connection in a module across NATS', () => {
  let database: TestDatabase;
  const processes: TestStore[] = [];
  let prefix: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    prefix = `t${randomBytes(4).toString('hex')}`;
    const env = { LOG_LEVEL: 'fatal', NATS_URL, NATS_SUBJECT_PREFIX: prefix, SERVICE_TOKEN: randomBytes(16).toString('hex'), REMOTE_CALL_TIMEOUT_MS: '5000' };
    processes.push(await startTestStore({ ...env, MODULES: 'ledger', GATEWAY: 'off' }, { modulesRoot: FIXTURE_MODULES, database }));
    processes.push(await startTestStore({ ...env, MODULES: 'audit', GATEWAY: 'on' }, { modulesRoot: FIXTURE_MODULES, database }));
  });

  afterAll(async () => {
    for (const store of processes.splice(0).reverse()) await store.close().catch(() => {});
    await database?.drop();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
  });

  it.each(DATABASE_FAULTS)('%s in the remote module is UNAVAILABLE, a 503 at the gateway', async (fault) => {
    await expectUnavailable(processes[1], fault);
  });
});
