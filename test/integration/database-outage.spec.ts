import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres.js';
import { faults } from '../fixtures/messaging/src/modules/audit/faults.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));

/**
 * A Postgres restart under load, on a server of this test's own (the shared
 * test server cannot be restarted): the process keeps running, answers 503
 * meanwhile, reconnects by itself and delivers every event exactly once.
 */
describe('a Postgres restart during delivery', () => {
  let dataDir: string;
  let port: number;
  let server: EmbeddedServer | undefined;
  let store: TestStore | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mf-outage-'));
    port = await freePort();
    server = await startEmbeddedPostgres({ dataDir, port });
  });

  afterAll(async () => {
    faults.reset();
    await store?.close().catch(() => {});
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('loses nothing, needs no process restart, and answers 503 while the database is away', async () => {
    const url = server!.url;
    store = await startTestStore(
      { LOG_LEVEL: 'fatal' },
      {
        modulesRoot: FIXTURE_MODULES,
        database: { url, name: 'store', drop: async () => {} },
      },
    );
    faults.delayMs = 30; // deliveries are still in flight when the server goes down
    for (let i = 1; i <= 40; i++) {
      const created = await http(store, 'POST', '/ledger/entries', { accountId: `acc-${i % 4}`, amount: i });
      expect(created.status).toBe(201);
    }

    await server!.stop();
    server = undefined;
    const during = await http(store, 'POST', '/ledger/entries', { accountId: 'acc-x', amount: 1 });
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('1');
    expect(during.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(during.body)).not.toMatch(/ECONNREFUSED|ledger\.|SELECT|INSERT/);

    server = await startEmbeddedPostgres({ dataDir, port });
    faults.delayMs = 0;
    await eventually(
      async () => {
        expect((await http(store!, 'POST', '/ledger/entries', { accountId: 'acc-y', amount: 2 })).status).toBe(201);
      },
      30_000,
      200,
    );

    const audit = store.application.databases.get('audit');
    await eventually(
      async () => {
        const [row] = await audit.query('SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS events FROM audit.seen');
        expect(row).toEqual({ n: 41, events: 41 });
      },
      30_000,
      100,
    );
    const [pending] = await store.application.databases.get('ledger').query(`SELECT count(*)::int AS n FROM ledger.outbox_deliveries`);
    expect(pending.n).toBe(0);
  });
});
