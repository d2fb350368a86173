import { eventually } from '../support/eventually.js';
import { describeWithNats } from '../support/needs-nats.js';
import { startTopology, type TestTopology } from '../support/test-topology.js';
import { stuckSagas, type StuckSagas } from '../support/stuck-saga.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

const TOKEN = 'console-test-token-0123456789abcdef';
const bearer = { authorization: `Bearer ${TOKEN}` };

/** The operator console's HTTP (ADR 40): off without a token, the token on every request, its data and actions on a real store. */
describe('the operator console (/console)', () => {
  describe('without CONSOLE_TOKEN', () => {
    let store: TestStore;
    beforeAll(async () => {
      store = await startTestStore({});
    }, 60_000);
    afterAll(async () => {
      await store?.close();
    });

    it('is not there at all: 404 for the page, its data and its actions', async () => {
      for (const [method, path] of [
        ['GET', '/console'],
        ['GET', '/console/api/overview'],
        ['POST', '/console/login'],
        ['POST', '/console/api/modules/orders/actions'],
      ]) {
        const answer = await http(store, method, path, method === 'POST' ? { token: TOKEN } : undefined, bearer);
        expect({ path, status: answer.status }).toEqual({ path, status: 404 });
      }
    });
  });

  describe('with CONSOLE_TOKEN', () => {
    let store: TestStore;
    let sagas: StuckSagas;
    beforeAll(async () => {
      store = await startTestStore({ CONSOLE_TOKEN: TOKEN });
      sagas = await stuckSagas(store, 'orders');
    }, 60_000);
    afterAll(async () => {
      await sagas?.stop();
      await store?.close();
    });

    it('asks for the token on every request: 401 problem+json for the API, a login form for the page', async () => {
      const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token-of-enough-length' }, { cookie: 'mf_console=forged' }];
      for (const headers of attempts) {
        const overview = await http(store, 'GET', '/console/api/overview', undefined, headers);
        expect(overview.status).toBe(401);
        expect(overview.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(overview.body).toMatchObject({ status: 401, title: 'Unauthorized' });
        const action = await http(store, 'POST', '/console/api/modules/orders/actions', { op: 'retry', key: 'x' }, headers);
        expect(action.status).toBe(401);
      }
      const page = await fetch(`${store.url}/console`);
      expect(page.status).toBe(401);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('type="password"');
      // The token in a query string is not a way in (URLs are logged).
      expect((await http(store, 'GET', `/console/api/overview?token=${TOKEN}`)).status).toBe(401);
    });

    it('logs in by a POST that sets an HttpOnly, SameSite=Strict session cookie (not the token), which then opens the page and its data', async () => {
      expect((await http(store, 'POST', '/console/login', { token: 'not-the-token-at-all' })).status).toBe(401);
      const login = await fetch(`${store.url}/console/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: TOKEN }),
      });
      expect(login.status).toBe(204);
      const cookie = login.headers.get('set-cookie')!;
      expect(cookie).toMatch(/^mf_console=[^;]+; Path=\/console; Max-Age=\d+; HttpOnly; SameSite=Strict/);
      expect(cookie).not.toContain(TOKEN);
      const session = cookie.split(';')[0];
      const page = await fetch(`${store.url}/console`, { headers: { cookie: session } });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toMatch(/script-src 'nonce-/);
      expect(await page.text()).toContain('operator console');
      expect((await http(store, 'GET', '/console/api/overview', undefined, { cookie: session })).status).toBe(200);
      // Not part of the public API: the OpenAPI document (store-api.md's) does not list it.
      const openapi = await http(store, 'GET', '/docs/openapi.json');
      expect(Object.keys(openapi.body.paths).filter((path) => path.startsWith('/console'))).toEqual([]);
    });

    it('shows every module, where it runs and its calls and event flows, as the modules declare them', async () => {
      const { status, body } = await http(store, 'GET', '/console/api/overview', undefined, bearer);
      expect(status).toBe(200);
      const modules = new Map(
        (body.modules as Array<{ name: string; events: Array<{ publisher: string; events: string[] }> }>).map((module) => [module.name, module]),
      );
      expect([...modules.keys()].sort()).toEqual(['inventory', 'notifications', 'orders', 'payments', 'shipping']);
      expect(modules.get('orders')).toMatchObject({
        location: 'local',
        status: 'up',
        instances: null,
        calls: expect.arrayContaining(['inventory', 'payments']),
      });
      expect(modules.get('notifications')!.events.some((flow) => flow.publisher === 'orders')).toBe(true);
      for (const name of modules.keys()) expect(body.operations[name]).toMatchObject({ module: name, outbox: { dead: 0 } });
      expect(body.metrics.routes).toEqual(expect.any(Array));
    });

    it('lists a stuck saga with its error, and retrying it from the console completes it', async () => {
      await sagas.park('order-stuck-1');
      const before = await http(store, 'GET', '/console/api/overview', undefined, bearer);
      expect(before.body.operations.orders.sagas.stuck).toEqual([
        expect.objectContaining({
          saga: sagas.saga,
          key: 'order-stuck-1',
          step: 'CHARGE_CARD',
          attempts: 2,
          lastError: expect.stringContaining('payment provider did not answer'),
        }),
      ]);
      expect(before.body.operations.orders.sagas.counts).toContainEqual({ saga: sagas.saga, version: 1, status: 'STUCK', count: 1 });

      sagas.heal();
      const retried = await http(store, 'POST', '/console/api/modules/orders/actions', { op: 'retry', key: 'order-stuck-1' }, bearer);
      expect(retried.status).toBe(200);
      expect(retried.body).toEqual({ module: 'orders', affected: 1, message: `orders: ${sagas.saga} saga order-stuck-1 runs again from CHARGE_CARD` });
      await eventually(async () => expect((await sagas.row('order-stuck-1')).status).toBe('DONE'));
      // The page follows the sagas its operator acted on, by key.
      const after = await http(
        store,
        'GET',
        `/console/api/overview?watch=orders/${sagas.saga}/order-stuck-1&watch=orders/${sagas.saga}/no-such-key`,
        undefined,
        bearer,
      );
      expect(after.body.operations.orders.sagas.stuck).toEqual([]);
      expect(after.body.operations.orders.sagas.watched).toEqual([
        { saga: sagas.saga, key: 'order-stuck-1', version: 1, status: 'DONE', step: 'DONE', failureReason: null, updatedAt: expect.any(String) },
      ]);
      expect(after.body.operations.inventory.sagas.watched).toEqual([]);
      for (const watch of [
        'orders',
        'orders/x',
        'Orders/x/y',
        'x'.repeat(70) + '/a/b',
        Array.from({ length: 21 }, (_, i) => `watch=orders/s/${i}`)
          .join('&')
          .slice(6),
      ]) {
        const refused = await http(store, 'GET', `/console/api/overview?watch=${watch}`, undefined, bearer);
        expect({ watch, status: refused.status }).toEqual({ watch, status: 400 });
      }
    });

    it('shows a waiting saga with what it waits for and until when, and cancels it', async () => {
      // A saga no runner of this build runs (so nothing moves it while the test looks).
      const db = store.application.databases.get('orders');
      await db.query(
        `INSERT INTO orders.sagas (saga, key, step, status, definition_version, wake_at, awaiting, next_run_at)
         VALUES ('parcel-watch', 'o-wait-1', 'AWAIT_DELIVERY', 'WAITING', 2, '2031-01-02T03:04:05Z', '{shipping.ShipmentDelivered}', '2031-01-02T03:04:05Z')`,
      );
      const { body } = await http(store, 'GET', '/console/api/overview', undefined, bearer);
      expect(body.operations.orders.sagas.inFlight).toContainEqual({
        saga: 'parcel-watch',
        key: 'o-wait-1',
        version: 2,
        status: 'WAITING',
        step: 'AWAIT_DELIVERY',
        awaiting: ['shipping.ShipmentDelivered'],
        until: '2031-01-02T03:04:05.000Z',
        cancelReason: null,
      });
      const cancelled = await http(store, 'POST', '/console/api/modules/orders/actions', { op: 'cancel', key: 'o-wait-1', saga: 'parcel-watch' }, bearer);
      expect(cancelled).toMatchObject({
        status: 200,
        body: { affected: 1, message: 'orders: parcel-watch saga o-wait-1 gives up at AWAIT_DELIVERY and compensates' },
      });
      const after = await http(store, 'GET', '/console/api/overview', undefined, bearer);
      expect(after.body.operations.orders.sagas.inFlight).toContainEqual(expect.objectContaining({ key: 'o-wait-1', cancelReason: 'CANCELLED_BY_OPERATOR' }));
      await db.query(`DELETE FROM orders.sagas WHERE saga = 'parcel-watch'`);
    });

    it('counts ended sagas exactly while few, and as an estimate once many (no scan of millions every poll)', async () => {
      const db = store.application.databases.get('inventory');
      await db.query(`INSERT INTO inventory.sagas (saga, key, step, status) SELECT 'bulk', 'k-' || i, 'DONE', 'DONE' FROM generate_series(1, 3) AS i`);
      await db.query('ANALYZE inventory.sagas');
      const few = await http(store, 'GET', '/console/api/overview', undefined, bearer);
      expect(few.body.operations.inventory.sagas.counts).toEqual([{ saga: 'bulk', version: 1, status: 'DONE', count: 3 }]);
      await db.query(`INSERT INTO inventory.sagas (saga, key, step, status) SELECT 'bulk', 'm-' || i, 'DONE', 'DONE' FROM generate_series(1, 30000) AS i`);
      await db.query('ANALYZE inventory.sagas');
      const many = await http(store, 'GET', '/console/api/overview', undefined, bearer);
      const [estimate] = many.body.operations.inventory.sagas.counts;
      expect(estimate).toMatchObject({ saga: '(all)', version: null, status: 'DONE', approximate: true });
      expect(Math.abs(estimate.count - 30_003)).toBeLessThan(3_000);
      await db.query(`DELETE FROM inventory.sagas WHERE saga = 'bulk'`);
    });

    it("shows a module's dead letters and replays one", async () => {
      const db = store.application.databases.get('orders');
      const [{ id }] = await db.query(
        `INSERT INTO orders.outbox (id, name, version, aggregate_id, payload) VALUES (gen_random_uuid(), 'orders.Test', 1, 'o-dead-1', '{}') RETURNING id`,
      );
      await db.query(
        `INSERT INTO orders.outbox_deliveries (event_id, subscriber, position, aggregate_id, status, attempts, last_error)
         SELECT id, 'console.test', position, aggregate_id, 'DEAD', 8, 'kept failing' FROM orders.outbox WHERE id = $1`,
        [id],
      );
      const { body } = await http(store, 'GET', '/console/api/overview', undefined, bearer);
      expect(body.operations.orders.outbox).toMatchObject({
        dead: 1,
        deadLetters: [expect.objectContaining({ eventId: id, subscriber: 'console.test', attempts: 8, lastError: 'kept failing' })],
      });
      expect(body.operations.orders.outbox.subscribers).toContainEqual({ subscriber: 'console.test', pending: 0, dead: 1 });
      const replayed = await http(store, 'POST', '/console/api/modules/orders/actions', { op: 'replay', eventId: id }, bearer);
      expect(replayed).toMatchObject({ status: 200, body: { affected: 1, message: 'orders: 1 dead letter(s) put back in line' } });
      // Out of the relay's way: no subscriber of that name exists.
      await db.query('DELETE FROM orders.outbox WHERE id = $1', [id]);
    });

    it('signals and cancels through the same validated actions; bad input is 400/404 problem+json', async () => {
      const signal = await http(
        store,
        'POST',
        '/console/api/modules/orders/actions',
        { op: 'signal', saga: sagas.saga, key: 'order-stuck-1', name: 'x.Happened', id: 's-1' },
        bearer,
      );
      expect(signal).toMatchObject({ status: 200, body: { affected: 1 } });
      const again = await http(
        store,
        'POST',
        '/console/api/modules/orders/actions',
        { op: 'signal', saga: sagas.saga, key: 'order-stuck-1', name: 'x.Happened', id: 's-1' },
        bearer,
      );
      expect(again.body.message).toContain('counted once');
      const bad: Array<[unknown, number, string]> = [
        [{ op: 'frobnicate' }, 400, 'op: one of'],
        [{ op: 'retry' }, 400, 'key: required'],
        [{ op: 'retry', key: 'k', extra: 1 }, 400, 'extra: not a field'],
        [{ op: 'retry', key: 'x'.repeat(201) }, 400, 'printable characters'],
        [{ op: 'replay', eventId: 'not-a-uuid' }, 400, 'eventId'],
        [[1, 2], 400, 'JSON object'],
        [{ op: 'retry', key: 'no-such-key' }, 404, "no STUCK saga has key 'no-such-key'"],
        [{ op: 'cancel', key: 'no-such-key' }, 404, 'no saga in flight'],
        [{ op: 'signal', saga: 'no-such-saga', key: 'k', name: 'n' }, 404, "no 'no-such-saga' saga"],
      ];
      for (const [body, status, detail] of bad) {
        const answer = await http(store, 'POST', '/console/api/modules/orders/actions', body, bearer);
        expect({ body, status: answer.status, type: answer.headers.get('content-type') }).toEqual({
          body,
          status,
          type: expect.stringMatching(/^application\/problem\+json/),
        });
        expect(answer.body.detail).toContain(detail);
      }
      expect((await http(store, 'POST', '/console/api/modules/nowhere/actions', { op: 'replay' }, bearer)).status).toBe(404);
      expect(
        (await http(store, 'POST', '/console/api/modules/orders/actions', 'op=retry', { ...bearer, 'content-type': 'application/x-www-form-urlencoded' }))
          .status,
      ).toBe(415);
      expect((await http(store, 'POST', '/console/api/modules/orders/actions', { op: 'replay' }, bearer)).body).toMatchObject({ affected: 0 });
    });
  });
});

/**
 * Every module in a process of its own: the gateway holds no database, so the console asks each
 * module's process over NATS (ADR 40) and that process answers from its own database.
 */
describeWithNats('the operator console of a gateway in the microservices topology', () => {
  let topology: TestTopology;
  let sagas: StuckSagas;
  beforeAll(async () => {
    topology = await startTopology('microservices', { CONSOLE_TOKEN: TOKEN });
    sagas = await stuckSagas(topology.processes.get('orders')!, 'orders');
  }, 120_000);
  afterAll(async () => {
    await sagas?.stop();
    await topology?.close();
  });

  it('shows each module remote with the process that hosts it, reads their sagas over NATS, and a retry there completes a stuck saga', async () => {
    await sagas.park('order-stuck-remote');
    const { status, body } = await http(topology, 'GET', '/console/api/overview', undefined, bearer);
    expect(status).toBe(200);
    expect(body.process).toMatchObject({ hosts: [], gateway: true });
    for (const module of body.modules as Array<{ name: string; location: string; status: string; instances: Array<{ hosts: string[] }> }>) {
      expect(module).toMatchObject({ location: 'remote', status: 'up' });
      expect(module.instances.map((instance) => instance.hosts)).toEqual([[module.name]]);
      expect(body.operations[module.name]).toMatchObject({ module: module.name, outbox: { dead: 0 } });
    }
    expect(body.operations.orders.sagas.stuck).toEqual([expect.objectContaining({ saga: sagas.saga, key: 'order-stuck-remote', step: 'CHARGE_CARD' })]);
    // Each subscriber's JetStream consumer, as the process that reads it sees it (its lag).
    expect(body.operations.notifications.consumers).toContainEqual(
      expect.objectContaining({ consumer: expect.stringMatching(/^notifications_.+_from_orders$/), publisher: 'orders', pending: expect.any(Number) }),
    );
    // Headless processes serve no console, whatever their token.
    expect((await http(topology.processes.get('orders')!, 'GET', '/console/api/overview', undefined, bearer)).status).toBe(404);

    sagas.heal();
    const retried = await http(topology, 'POST', '/console/api/modules/orders/actions', { op: 'retry', key: 'order-stuck-remote' }, bearer);
    expect(retried).toMatchObject({ status: 200, body: { affected: 1 } });
    await eventually(async () => expect((await sagas.row('order-stuck-remote')).status).toBe('DONE'));
    const missing = await http(topology, 'POST', '/console/api/modules/orders/actions', { op: 'retry', key: 'order-stuck-remote' }, bearer);
    expect(missing).toMatchObject({ status: 404, body: { detail: "orders: no STUCK saga has key 'order-stuck-remote'" } });
  }, 60_000);
});
