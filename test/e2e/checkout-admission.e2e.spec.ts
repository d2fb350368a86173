import pg from 'pg';
import { eventually } from '../support/eventually.js';
import { assertStoreInvariants, waitForQuiet } from '../support/store-invariants.js';
import { oneLine, recordStatements } from '../support/recorded-statements.js';
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

/** The topology with `env` for a suite, and an admin connection to its database (to lock tables, count rows). */
function storeWithAdmin(topology: string, env: Record<string, string>) {
  let store: TestTopology;
  let admin: pg.Client;
  beforeAll(async () => {
    store = await startTopology(topology, {
      ...env,
      // Blocked charges must not time out and compensate while a test holds the lock.
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
  return {
    store: () => store,
    admin: () => admin,
    ordersWritten: async (): Promise<number> => (await admin.query('SELECT count(*)::int AS n FROM orders.orders')).rows[0].n,
  };
}

/**
 * Commits the transaction that holds the payments lock; then every accepted order
 * ends CONFIRMED, and once the queue is empty a new order is accepted and goes through.
 */
async function releaseAndFinish(store: TestTopology, admin: pg.Client, accepted: readonly string[], sku: string): Promise<void> {
  await admin.query('COMMIT');
  for (const orderId of accepted) {
    await eventually(async () => expect((await http(store, 'GET', `/orders/${orderId}`)).body.status).toBe('CONFIRMED'), 60_000, 50);
  }
  const again = await eventually(
    async () => {
      const response = await http(store, 'POST', '/orders', order(sku));
      expect(response.status).toBe(202);
      return response;
    },
    15_000,
    100,
  );
  await eventually(async () => expect((await http(store, 'GET', `/orders/${again.body.orderId}`)).body.status).toBe('CONFIRMED'));
}

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
  const { store, admin, ordersWritten } = storeWithAdmin(topology, {
    CHECKOUT_ADMISSION_MAX_WAIT_MS: '300',
    // This suite is about the queue-wait guard: the in-flight bound (below) out of its way.
    CHECKOUT_ADMISSION_MIN_IN_FLIGHT: '100000',
  });

  it('refuses new orders with 503 while queued checkouts wait too long, and accepts them again once the queue drains', async () => {
    const sku = `ADMIT-${topology.toUpperCase()}`;
    expect((await http(store(), 'POST', '/inventory/products', { sku, name: 'Kettle', priceCents: 100, stock: 1000 })).status).toBe(201);

    await admin().query('BEGIN');
    await admin().query('LOCK TABLE payments.payments IN SHARE ROW EXCLUSIVE MODE');
    let held = true;
    try {
      // More orders than the runners take at once: the rest queue, and their wait grows.
      const burst = await Promise.all(Array.from({ length: 60 }, () => http(store(), 'POST', '/orders', order(sku))));
      const accepted = burst.filter((response) => response.status === 202).map((response) => response.body.orderId as string);
      expect(burst.every((response) => response.status === 202 || response.status === 503)).toBe(true);
      expect(accepted.length).toBeGreaterThan(0);

      const refused = await eventually(
        async () => {
          const before = await ordersWritten();
          const response = await http(store(), 'POST', '/orders', order(sku));
          expect(response.status).toBe(503);
          // Refused before anything is written.
          expect(await ordersWritten()).toBe(before);
          return response;
        },
        15_000,
        100,
      );
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body).toMatchObject({ status: 503, title: 'Service Unavailable' });
      expect(refused.body.detail).toMatch(/^checkout is at capacity: queued orders wait \d+\.\d s to start \(limit 0\.3 s\); retry later$/);
      if (topology === 'monolith') {
        // The process hosting Orders says so on /metrics too.
        const metrics = await (await fetch(`${store().url}/metrics`)).text();
        expect(Number(/^checkout_orders_refused_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
        expect(Number(/^checkout_queued_wait_seconds ([\d.e-]+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0.3);
      }

      // Let the charges through: every accepted order finishes, then new ones are accepted again.
      held = false;
      await releaseAndFinish(store(), admin(), accepted, sku);
    } finally {
      if (held) await admin().query('ROLLBACK');
    }
    await waitForQuiet(store().database.url);
    await assertStoreInvariants(store().database.url);
  }, 120_000);

  it('answers a replayed order (same Idempotency-Key) even while refusing new ones', async () => {
    const sku = `ADMIT-KEY-${topology.toUpperCase()}`;
    expect((await http(store(), 'POST', '/inventory/products', { sku, name: 'Kettle', priceCents: 100, stock: 1000 })).status).toBe(201);
    const key = { 'Idempotency-Key': `admission-${topology}` };
    const first = await http(store(), 'POST', '/orders', order(sku), key);
    expect(first.status).toBe(202);
    await eventually(async () => expect((await http(store(), 'GET', `/orders/${first.body.orderId}`)).body.status).toBe('CONFIRMED'));

    await admin().query('BEGIN');
    await admin().query('LOCK TABLE payments.payments IN SHARE ROW EXCLUSIVE MODE');
    try {
      await Promise.all(Array.from({ length: 60 }, () => http(store(), 'POST', '/orders', order(sku))));
      await eventually(async () => expect((await http(store(), 'POST', '/orders', order(sku))).status).toBe(503), 15_000, 100);
      const replay = await http(store(), 'POST', '/orders', order(sku), key);
      expect([200, 202]).toContain(replay.status);
      expect(replay.body.orderId).toBe(first.body.orderId);
    } finally {
      await admin().query('COMMIT');
    }
    await waitForQuiet(store().database.url);
    await assertStoreInvariants(store().database.url);
  }, 120_000);
});

const BOUND = 12;

/*
 * The in-flight bound (ADR 16): with the charges blocked (payments locked, as above),
 * nothing ends, so the completion rate is 0 and the bound is its minimum. A burst gets
 * at most that many orders in, never more, and the rest 503 at once with nothing
 * written; while the route refuses, the gateway answers before any work (the early
 * refusal counter); every accepted order then finishes, and new ones are accepted again.
 */
describeEachTopology(topologies, 'the in-flight bound on checkouts in the %s topology', (topology) => {
  const { store, admin, ordersWritten } = storeWithAdmin(topology, {
    CHECKOUT_ADMISSION_MIN_IN_FLIGHT: String(BOUND),
    // The queue-wait guard out of the way: the bound alone decides.
    CHECKOUT_ADMISSION_MAX_WAIT_MS: '600000',
  });

  it('accepts no more checkouts than its bound, refuses the rest at once, and finishes every one it accepted', async () => {
    const sku = `BOUND-${topology.toUpperCase()}`;
    expect((await http(store(), 'POST', '/inventory/products', { sku, name: 'Kettle', priceCents: 100, stock: 1000 })).status).toBe(201);

    await admin().query('BEGIN');
    await admin().query('LOCK TABLE payments.payments IN SHARE ROW EXCLUSIVE MODE');
    let held = true;
    try {
      const burst = await Promise.all(Array.from({ length: 3 * BOUND }, () => http(store(), 'POST', '/orders', order(sku))));
      expect(burst.every((response) => response.status === 202 || response.status === 503)).toBe(true);
      expect(burst.filter((response) => response.status === 503).length).toBeGreaterThanOrEqual(2 * BOUND);
      expect(await ordersWritten()).toBeLessThanOrEqual(BOUND);

      // One at a time until the store is full: never more than the bound, then refused with nothing written.
      const refused = await eventually(
        async () => {
          const response = await http(store(), 'POST', '/orders', order(sku));
          expect(await ordersWritten()).toBeLessThanOrEqual(BOUND);
          expect(response.status).toBe(503);
          expect(await ordersWritten()).toBe(BOUND);
          return response;
        },
        15_000,
        50,
      );
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body).toMatchObject({ status: 503, title: 'Service Unavailable' });
      // (The count it gives is the admission's: never below the truth, a little above it just after a burst.)
      expect(refused.body.detail).toMatch(
        /^checkout is at capacity: \d+ orders in flight, as many as it finishes with 1\.0 s of waiting at its current rate \(0\/s\); retry later$/,
      );

      // While the route refuses, the gateway answers before reading the body: even an invalid one is a 503 then.
      // (A valid POST first: a refusal it meets at the module opens the window again, if it had run out.)
      await eventually(
        async () => {
          expect((await http(store(), 'POST', '/orders', order(sku))).status).toBe(503);
          const early = await http(store(), 'POST', '/orders', { not: 'an order' });
          expect(early.status).toBe(503);
          expect(early.headers.get('retry-after')).toMatch(/^\d+$/);
        },
        15_000,
        0,
      );
      // Most refusals were answered at the door; at least one by the admission itself, which opened it.
      const gatewayMetrics = await (await fetch(`${store().url}/metrics`)).text();
      const early = Number(/^http_requests_refused_early_total\{method="POST",route="\/orders"\} (\d+)$/m.exec(gatewayMetrics)?.[1]);
      expect(early).toBeGreaterThanOrEqual(1);
      if (topology === 'monolith') {
        const metrics = gatewayMetrics;
        expect(Number(/^saga_in_flight_limit_checkout (\d+)$/m.exec(metrics)?.[1])).toBe(BOUND);
        expect(Number(/^saga_in_flight_checkout (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(BOUND);
        const byAdmission = Number(/^saga_admission_refused_total\{saga="checkout",reason="in_flight"\} (\d+)$/m.exec(metrics)?.[1]);
        expect(byAdmission).toBeGreaterThanOrEqual(1);
        expect(byAdmission + early).toBeGreaterThanOrEqual(2 * BOUND);
      }
      expect(await ordersWritten()).toBe(BOUND);

      held = false;
      const { rows } = await admin().query<{ id: string }>('SELECT id FROM orders.orders');
      await releaseAndFinish(
        store(),
        admin(),
        rows.map((row) => row.id),
        sku,
      );
    } finally {
      if (held) await admin().query('ROLLBACK');
    }
    await waitForQuiet(store().database.url);
    await assertStoreInvariants(store().database.url);
  }, 120_000);
});

/*
 * Keyed requests under overload (issue 27, ADR 24): while the route refuses, a POST
 * /orders with a new Idempotency-Key is refused like any other, with no statement
 * to the database (the keys were looked up first, a pooled query per refusal); a
 * repeat of a key that was accepted still gets its order.
 */
describeEachTopology(topologies, 'keyed checkouts under overload in the %s topology', (topology) => {
  const { store, admin, ordersWritten } = storeWithAdmin(topology, {
    CHECKOUT_ADMISSION_MIN_IN_FLIGHT: String(BOUND),
    CHECKOUT_ADMISSION_MAX_WAIT_MS: '600000',
  });

  it('refuses new keys without a query while refusing, and still answers a key it accepted', async () => {
    const sku = `KEYED-${topology.toUpperCase()}`;
    expect((await http(store(), 'POST', '/inventory/products', { sku, name: 'Kettle', priceCents: 100, stock: 1000 })).status).toBe(201);
    const accepted = await http(store(), 'POST', '/orders', order(sku), { 'Idempotency-Key': `keyed-${topology}-accepted` });
    expect(accepted.status).toBe(202);
    await eventually(async () => expect((await http(store(), 'GET', `/orders/${accepted.body.orderId}`)).body.status).toBe('CONFIRMED'));
    // Its delivery workflow begins in the background (reading the order); let it settle into its wait before counting statements.
    await eventually(async () =>
      expect(
        (
          await admin().query(
            `SELECT count(*)::int AS n FROM orders.sagas WHERE saga = 'delivery' AND key = $1 AND status = 'WAITING' AND (locked_until IS NULL OR locked_until < now())`,
            [accepted.body.orderId],
          )
        ).rows[0].n,
      ).toBe(1),
    );

    await admin().query('BEGIN');
    await admin().query('LOCK TABLE payments.payments IN SHARE ROW EXCLUSIVE MODE');
    let held = true;
    try {
      await Promise.all(Array.from({ length: 3 * BOUND }, () => http(store(), 'POST', '/orders', order(sku))));
      // Full: as many orders in flight as the bound (the first one has ended), so that nothing new may be admitted.
      await eventually(
        async () => {
          expect((await http(store(), 'POST', '/orders', order(sku))).status).toBe(503);
          expect(await ordersWritten()).toBe(BOUND + 1);
        },
        15_000,
        50,
      );

      // What a POST /orders could read or write: orders, their lines, prices (the relays' and sagas' polling is not counted).
      const statements = recordStatements((text) => /"?orders"?\."?(orders|order_lines)\b|"?inventory"?\."?products\b/i.test(text));
      let answers: number[];
      try {
        answers = [];
        for (let i = 0; i < 40; i++)
          answers.push((await http(store(), 'POST', '/orders', order(sku), { 'Idempotency-Key': `keyed-${topology}-new-${i}` })).status);
      } finally {
        statements.restore();
      }
      expect({ statements: statements.sent.map((statement) => oneLine(statement.text)), answers: [...new Set(answers)] }).toEqual({
        statements: [],
        answers: [503],
      });
      expect(await ordersWritten()).toBe(BOUND + 1);

      // The accepted key's repeat is answered: its order, not a 503.
      const repeat = await http(store(), 'POST', '/orders', order(sku), { 'Idempotency-Key': `keyed-${topology}-accepted` });
      expect(repeat.status).toBe(200);
      expect(repeat.body).toEqual({ orderId: accepted.body.orderId, status: 'CONFIRMED' });

      held = false;
      await admin().query('COMMIT');
    } finally {
      if (held) await admin().query('ROLLBACK');
    }
    await waitForQuiet(store().database.url);
    await assertStoreInvariants(store().database.url);
  }, 120_000);
});
