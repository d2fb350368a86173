import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect, headers } from '@nats-io/transport-node';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { faults } from '../fixtures/messaging/src/modules/audit/faults.js';
import { eventually } from '../support/eventually.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));

/**
 * A module in another process, over the real NATS server: events reach a
 * subscriber that was down when they were published, calls to a module that
 * is gone answer 503 fast, and messages without the service token are refused.
 */
describeWithNats('modules in separate processes over NATS', () => {
  let database: TestDatabase;
  const processes: TestStore[] = [];
  let env: Record<string, string>;

  beforeEach(async () => {
    faults.reset();
    database = await createTestDatabase();
    env = {
      NATS_URL,
      NATS_SUBJECT_PREFIX: `t${randomBytes(4).toString('hex')}`,
      SERVICE_TOKEN: randomBytes(16).toString('hex'),
      REMOTE_CALL_TIMEOUT_MS: '500',
    };
  });

  afterEach(async () => {
    for (const store of processes.splice(0).reverse()) await store.close().catch(() => {});
    await database.drop();
    await deleteEventStream(NATS_URL, env.NATS_SUBJECT_PREFIX);
  });

  const start = async (extra: Record<string, string>) => {
    const store = await startTestStore({ ...env, ...extra }, { modulesRoot: FIXTURE_MODULES, database });
    processes.push(store);
    return store;
  };

  const seen = async (store: TestStore) =>
    (await store.application.databases.get('audit').query('SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS events FROM audit.seen'))[0];

  it('delivers events to a subscriber in another process through the stream, and keeps them while it is down', async () => {
    const ledger = await start({ MODULES: 'ledger', GATEWAY: 'on' });
    let audit = await start({ MODULES: 'audit', GATEWAY: 'off' });
    for (let i = 1; i <= 10; i++) expect((await http(ledger, 'POST', '/ledger/entries', { accountId: `a${i % 3}`, amount: i })).status).toBe(201);
    await eventually(async () => expect(await seen(audit)).toEqual({ n: 10, events: 10 }));

    await audit.close();
    processes.splice(processes.indexOf(audit), 1);
    for (let i = 11; i <= 25; i++) expect((await http(ledger, 'POST', '/ledger/entries', { accountId: `a${i % 3}`, amount: i })).status).toBe(201);
    // Nobody reads them now: they wait in the stream, none is dead-lettered, the outbox is done with them.
    await eventually(async () => expect(await ledger.application.messaging.stats()).toMatchObject({ ledger: { pending: 0, dead: 0 } }));

    audit = await start({ MODULES: 'audit', GATEWAY: 'off' });
    await eventually(async () => expect(await seen(audit)).toEqual({ n: 25, events: 25 }));
    await eventually(async () => expect(await ledger.application.messaging.stats()).toMatchObject({ ledger: { pending: 0, dead: 0 } }));
    const rows = await audit.application.databases.get('audit').query('SELECT account_id, sequence FROM audit.seen ORDER BY id');
    for (const account of ['a0', 'a1', 'a2']) {
      const sequences = rows.filter((row: { account_id: string }) => row.account_id === account).map((row: { sequence: number }) => row.sequence);
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    }
  });

  it('answers 503 with Retry-After, fast, when the module a request needs is gone', async () => {
    const ledger = await start({ MODULES: 'ledger', GATEWAY: 'off' });
    const gateway = await start({ MODULES: 'audit', GATEWAY: 'on' });
    expect((await http(gateway, 'POST', '/ledger/entries', { accountId: 'a', amount: 1 })).status).toBe(201);
    expect((await http(gateway, 'GET', '/health')).body.modules.ledger).toEqual({ location: 'remote', status: 'up' });

    await ledger.close();
    processes.splice(processes.indexOf(ledger), 1);
    for (let i = 0; i < 8; i++) {
      const response = await http(gateway, 'POST', '/ledger/entries', { accountId: 'a', amount: 1 });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    const health = await http(gateway, 'GET', '/health');
    expect(health.status).toBe(503);
    expect(health.body).toEqual({
      status: 'degraded',
      modules: { audit: { location: 'local', status: 'up' }, ledger: { location: 'remote', status: 'down' } },
    });
    // Once the circuit is open, callers are refused at once rather than each sent to a dead module.
    const refused = await http(gateway, 'POST', '/ledger/entries', { accountId: 'a', amount: 1 });
    expect(refused.status).toBe(503);
    expect(refused.body.detail).toBe("module 'ledger' is unavailable (circuit open)");
  });

  it('refuses and logs a message without the service token', async () => {
    await start({ MODULES: 'ledger', GATEWAY: 'off' });
    // Replies under the deployment's inboxes: the only ones a service answers (ADR 21).
    const connection = await connect({ servers: NATS_URL, inboxPrefix: `_INBOX.${env.NATS_SUBJECT_PREFIX}` });
    try {
      const call = (token?: string) => {
        const h = headers();
        if (token) h.set('Mf-Service-Token', token);
        return connection.request(`${env.NATS_SUBJECT_PREFIX}.call.ledger.recordEntry`, JSON.stringify({ accountId: 'x', amount: 1 }), {
          timeout: 1000,
          headers: h,
        });
      };
      expect((await call()).string()).toMatch(/^refused/);
      expect((await call('wrong-token')).string()).toMatch(/^refused/);
      const accepted = JSON.parse((await call(env.SERVICE_TOKEN)).string());
      expect(accepted).toEqual({ ok: true, result: { accountId: 'x', sequence: 1 } });
      // Payloads are validated on receipt, as in process.
      const h = headers();
      h.set('Mf-Service-Token', env.SERVICE_TOKEN);
      const invalid = JSON.parse(
        (
          await connection.request(`${env.NATS_SUBJECT_PREFIX}.call.ledger.recordEntry`, JSON.stringify({ accountId: 'x', amount: 'one' }), {
            timeout: 1000,
            headers: h,
          })
        ).string(),
      );
      expect(invalid).toMatchObject({ ok: false, error: { code: 'INVALID', errors: [{ field: 'amount' }] } });
    } finally {
      await connection.close();
    }
  });

  it('will not start a distributed process without a service token', async () => {
    await expect(startTestStore({ ...env, SERVICE_TOKEN: '', MODULES: 'ledger' }, { modulesRoot: FIXTURE_MODULES, database })).rejects.toThrow(
      /^SERVICE_TOKEN: required when modules run in several processes/,
    );
  });
});
