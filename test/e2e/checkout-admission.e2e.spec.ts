import pg from 'pg';
import { eventually } from '../support/eventually.js';
import { assertStoreInvariants, waitForQuiet } from '../support/store-invariants.js';
import { http } from '../support/test-store.js';
import { describeEachTopology } from '../support/needs-nats.js';
import { startTopology, type TestTopology, topologiesUnderTest } from '../support/test-topology.js';

const topologies = await topologiesUnderTest();

const order = (sku: string) => ({
  customerId: 'cust-admission',
  items: [{ sku, quantity: 1 }],
  paymentToken: 'tok_visa',
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
});

/*
 * Backpressure: while queued checkouts wait past CHECKOUT_ADMISSION_MAX_WAIT_MS to
 * start, POST /orders answers 503 with Retry-After and writes nothing; orders already
 * accepted all finish; once the queue drains, orders are accepted again. The queue is
 * made to wait for real: a transaction locks the payments table against writes, so
 * every charge blocks, the runners fill up, and new sagas wait in the table. (Payments,
 * not Inventory: placing an order reads prices from Inventory, and blocked reservations
 * would exhaust its connection pool, which is a 503 of another kind.)
 */
describeEachTopology(topologies, 'checkout admission under overload in the %s topology', (topology) => {
  let store: TestTopology;
  let admin: pg.Client;

  beforeAll(async () => {
    store = await startTopology(topology, {
      CHECKOUT_ADMISSION_MAX_WAIT_MS: '300',
      // Blocked charges must not time out and compensate while the test holds the lock.
      CHECKOUT_STEP_TIMEOUT_MS: '60000',
      REMOTE_CALL_TIMEOUT_MS: '60000',
    });
    admin = new pg.Client({ connectionString: store.database.url });
    await admin.connect();
  }, 60_000);

  afterAll(async () => {
    await admin?.end();
    await store?.close();
  });

  const ordersWritten = async (): Promise<number> => (await admin.query('SELECT count(*)::int AS n FROM orders.orders')).rows[0].n;

  it('refuses new orders with 503 while queued checkouts wait too long, and accepts them again once the queue drains', async () => {
    const sku = `ADMIT-${topology.toUpperCase()}`;
    expect((await http(store, 'POST', '/inventory/products', { sku, name: 'Kettle', priceCents: 100, stock: 1000 })).status).toBe(201);

    await admin.query('BEGIN');
    await admin.query('LOCK TABLE payments.payments IN SHARE ROW EXCLUSIVE MODE');
    let held = true;
    try {
      // More orders than the runners take at once: the rest queue, and their wait grows.
      const burst = await Promise.all(Array.from({ length: 60 }, () => http(store, 'POST', '/orders', order(sku))));
      const accepted = burst.filter((response) => response.status === 202).map((response) => response.body.orderId as string);
      expect(burst.every((response) => response.status === 202 || response.status === 503)).toBe(true);
      expect(accepted.length).toBeGreaterThan(0);

      const refused = await eventually(async () => {
        const before = await ordersWritten();
        const response = await http(store, 'POST', '/orders', order(sku));
        expect(response.status).toBe(503);
        // Refused before anything is written.
        expect(await ordersWritten()).toBe(before);
        return response;
      }, 15_000, 100);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body).toMatchObject({ status: 503, title: 'Service Unavailable' });
      expect(refused.body.detail).toMatch(/^checkout is at capacity: queued orders wait \d+\.\d s to start \(limit 0\.3 s\); retry later$/);
      if (topology === 'monolith') {
        // The process hosting Orders says so on /metrics too.
        const metrics = await (await fetch(`${store.url}/metrics`)).text();
        expect(Number(/^checkout_orders_refused_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
        expect(Number(/^checkout_queued_wait_seconds ([\d.e-]+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0.3);
      }

      // Let the charges through: every accepted order finishes.
      await admin.query('COMMIT');
      held = false;
      for (const orderId of accepted) {
        await eventually(async () => expect((await http(store, 'GET', `/orders/${orderId}`)).body.status).toBe('CONFIRMED'), 60_000, 50);
      }
      // The queue is empty again: the next order is accepted and goes through.
      const again = await eventually(async () => {
        const response = await http(store, 'POST', '/orders', order(sku));
        expect(response.status).toBe(202);
        return response;
      }, 15_000, 100);
      await eventually(async () => expect((await http(store, 'GET', `/orders/${again.body.orderId}`)).body.status).toBe('CONFIRMED'));
    } finally {
      if (held) await admin.query('ROLLBACK');
    }
    await waitForQuiet(store.database.url);
    await assertStoreInvariants(store.database.url);
  }, 120_000);

  it('answers a replayed order (same Idempotency-Key) even while refusing new ones', async () => {
    const sku = `ADMIT-KEY-${topology.toUpperCase()}`;
    expect((await http(store, 'POST', '/inventory/products', { sku, name: 'Kettle', priceCents: 100, stock: 1000 })).status).toBe(201);
    const key = { 'Idempotency-Key': `admission-${topology}` };
    const first = await http(store, 'POST', '/orders', order(sku), key);
    expect(first.status).toBe(202);
    await eventually(async () => expect((await http(store, 'GET', `/orders/${first.body.orderId}`)).body.status).toBe('CONFIRMED'));

    await admin.query('BEGIN');
    await admin.query('LOCK TABLE payments.payments IN SHARE ROW EXCLUSIVE MODE');
    try {
      await Promise.all(Array.from({ length: 60 }, () => http(store, 'POST', '/orders', order(sku))));
      await eventually(async () => expect((await http(store, 'POST', '/orders', order(sku))).status).toBe(503), 15_000, 100);
      const replay = await http(store, 'POST', '/orders', order(sku), key);
      expect([200, 202]).toContain(replay.status);
      expect(replay.body.orderId).toBe(first.body.orderId);
    } finally {
      await admin.query('COMMIT');
    }
    await waitForQuiet(store.database.url);
    await assertStoreInvariants(store.database.url);
  }, 120_000);
});
