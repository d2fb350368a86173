import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { FaultProxy } from '../../tools/support/fault-proxy.js';
import { eventually } from '../support/eventually.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

const ADDRESS = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };

/**
 * `POST /orders` without an Idempotency-Key, Orders in another process: the
 * gateway sends placeOrder with a key of its own, and retries it with that key
 * when the first attempt's answer misses its deadline. The retry is then a
 * replay, but of the gateway's key, not the client's: the client's one request
 * created the order, so it answers 202 (docs/api.md: 200 only for a repeat of
 * the client's own key), and there is one order. Forced, not hoped for: the
 * Orders process's NATS link is a fault proxy that holds its answers until the
 * gateway's retry has reached it.
 */
describeWithNats('a checkout, and a cancellation, retried by the gateway after a missed deadline', () => {
  let database: TestDatabase;
  let proxy: FaultProxy;
  const processes: TestStore[] = [];
  let prefix: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    prefix = `t${randomBytes(4).toString('hex')}`;
    proxy = await FaultProxy.start(NATS_URL);
    const env = { LOG_LEVEL: 'fatal', NATS_SUBJECT_PREFIX: prefix, SERVICE_TOKEN: randomBytes(16).toString('hex'), REMOTE_CALL_TIMEOUT_MS: '1500' };
    // Inventory beside Orders: placeOrder prices its lines without crossing the held link.
    processes.push(await startTestStore({ ...env, NATS_URL: proxy.url, MODULES: 'orders,inventory', GATEWAY: 'off' }, { database }));
    processes.push(await startTestStore({ ...env, NATS_URL, MODULES: 'payments,shipping,notifications', GATEWAY: 'on' }, { database }));
  }, 120_000);

  afterAll(async () => {
    proxy?.release();
    for (const store of processes.splice(0).reverse()) await store.close().catch(() => {});
    await proxy?.stop();
    await database?.drop();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
  });

  it('answers 202 to a request without a key, never 200, and places one order', async () => {
    const gateway = processes[1];
    expect((await http(gateway, 'POST', '/inventory/products', { sku: 'RETRY', name: 'Retry', priceCents: 500, stock: 10 })).status).toBe(201);

    const placements = proxy.seen(`${prefix}.call.orders.placeOrder`);
    proxy.hold('out');
    const answer = http(gateway, 'POST', '/orders', {
      customerId: 'retried',
      items: [{ sku: 'RETRY', quantity: 1 }],
      paymentToken: 'tok_visa',
      shippingAddress: ADDRESS,
    });
    // The first attempt reached Orders, its answer is held: the gateway's deadline passes and it retries.
    await eventually(async () => expect(placements.count).toBeGreaterThanOrEqual(2), 30_000, 10);
    proxy.release();
    const response = await answer;

    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`/orders/${response.body.orderId}`);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string }>(`SELECT id FROM orders.orders WHERE customer_id = 'retried'`);
      expect(rows).toEqual([{ id: response.body.orderId }]);
    } finally {
      await client.end();
    }
  }, 60_000);

  it('answers 202 to the cancellation whose first attempt started it, and 200 to the client’s own repeat', async () => {
    const gateway = processes[1];
    const placed = await http(gateway, 'POST', '/orders', {
      customerId: 'cancel-retried',
      items: [{ sku: 'RETRY', quantity: 1 }],
      paymentToken: 'tok_visa',
      shippingAddress: ADDRESS,
    });
    expect(placed.status).toBe(202);
    await eventually(async () => expect((await http(gateway, 'GET', `/orders/${placed.body.orderId}`)).body.status).toBe('CONFIRMED'), 30_000);

    const cancellations = proxy.seen(`${prefix}.call.orders.cancelOrder`);
    proxy.hold('out');
    const answer = http(gateway, 'POST', `/orders/${placed.body.orderId}/cancel`);
    // The first attempt started the cancellation; its answer is held: the gateway's deadline passes and it retries.
    await eventually(async () => expect(cancellations.count).toBeGreaterThanOrEqual(2), 30_000, 10);
    proxy.release();
    const response = await answer;
    expect([response.status, response.body?.status, response.headers.get('location')]).toEqual([202, 'CANCELLING', `/orders/${placed.body.orderId}`]);

    // The client asking again is a repeat: 200, where the cancellation stands.
    const repeat = await http(gateway, 'POST', `/orders/${placed.body.orderId}/cancel`);
    expect(repeat.status).toBe(200);
    expect(['CANCELLING', 'CANCELLED']).toContain(repeat.body.status);
  }, 60_000);
});
