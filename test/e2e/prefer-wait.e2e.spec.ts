import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { NATS_URL } from '../support/nats.js';
import { eventually } from '../support/eventually.js';
import { assertStoreInvariants, waitForQuiet } from '../support/store-invariants.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';
import { describeEachTopology, describeWithNats } from '../support/needs-nats.js';
import { startTopology, type TestTopology, topologiesUnderTest } from '../support/test-topology.js';

/**
 * `Prefer: wait=N` on POST /orders (store-api.md, RFC 7240, ADR 30): the client waits for the
 * checkout's end instead of polling. Asserted on statuses, headers, bodies and pg_stat_activity,
 * never on elapsed time.
 */
const topologies = await topologiesUnderTest();

const address = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };
const checkout = (sku: string, extra: Record<string, unknown> = {}) => ({
  customerId: 'cust-wait',
  items: [{ sku, quantity: 1 }],
  paymentToken: 'tok_visa',
  shippingAddress: address,
  ...extra,
});

/** Step attempts never time out during a test: a blocked step stays blocked (and holds nothing in Orders) until released. */
const ENV = { CHECKOUT_RETRY_DELAY_MS: '20', CHECKOUT_STEP_TIMEOUT_MS: '60000' };

interface Target {
  readonly url: string;
  readonly database: { readonly url: string };
}

/** Holds payments.payments locked: every charge blocks (in Payments' database session) until `release`. */
async function blockCharges(databaseUrl: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE payments.payments IN ACCESS EXCLUSIVE MODE');
  return {
    release: async () => {
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}

function examples(target: () => Target) {
  let sku = 0;
  async function product(stock = 1_000): Promise<string> {
    const name = `WAIT-${++sku}`;
    expect((await http(target(), 'POST', '/inventory/products', { sku: name, name: 'Kettle', priceCents: 1250, stock })).status).toBe(201);
    return name;
  }
  async function expectWholeOrder(answer: { status: number; headers: Headers; body: any }, status: number, wait: number) {
    expect(answer.status).toBe(status);
    expect(answer.headers.get('preference-applied')).toBe(`wait=${wait}`);
    expect(answer.headers.get('location')).toBe(`/orders/${answer.body.orderId}`);
    const order = await http(target(), 'GET', `/orders/${answer.body.orderId}`);
    expect(order.status).toBe(200);
    expect(answer.body).toEqual(order.body);
    return answer.body;
  }

  it('answers 201 with the whole CONFIRMED order, Preference-Applied and Location', async () => {
    const kettle = await product();
    const answer = await http(target(), 'POST', '/orders', checkout(kettle), { prefer: 'wait=10' });
    const order = await expectWholeOrder(answer, 201, 10);
    expect(order).toMatchObject({ status: 'CONFIRMED', failureReason: null, totalCents: 1250, paymentId: expect.any(String), shipmentId: expect.any(String) });
  });

  it('answers 201 with the CANCELLED order of a declined payment', async () => {
    const kettle = await product();
    const answer = await http(target(), 'POST', '/orders', checkout(kettle, { paymentToken: 'tok_declined' }), { Prefer: 'respond-async, wait=10' });
    const order = await expectWholeOrder(answer, 201, 10);
    expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'PAYMENT_DECLINED', shipmentId: null });
  });

  it('answers 200 with the order for a repeated Idempotency-Key, and nothing new', async () => {
    const kettle = await product();
    const key = `wait-${randomBytes(6).toString('hex')}`;
    const first = await http(target(), 'POST', '/orders', checkout(kettle), { prefer: 'wait=10', 'idempotency-key': key });
    await expectWholeOrder(first, 201, 10);
    const repeat = await http(target(), 'POST', '/orders', checkout(kettle), { prefer: 'wait=10', 'idempotency-key': key });
    const order = await expectWholeOrder(repeat, 200, 10);
    expect(order.orderId).toBe(first.body.orderId);
    expect(order.status).toBe('CONFIRMED');
  });

  it('answers 202 as without the header when the checkout does not end within N seconds; the order ends later', async () => {
    const kettle = await product();
    const blocked = await blockCharges(target().database.url);
    let answer;
    try {
      answer = await http(target(), 'POST', '/orders', checkout(kettle), { prefer: 'wait=1' });
    } finally {
      await blocked.release();
    }
    expect(answer.status).toBe(202);
    expect(answer.headers.get('preference-applied')).toBeNull();
    expect(answer.headers.get('location')).toBe(`/orders/${answer.body.orderId}`);
    expect(answer.body).toEqual({ orderId: expect.any(String), status: 'PENDING' });
    await eventually(async () => expect((await http(target(), 'GET', `/orders/${answer.body.orderId}`)).body.status).toBe('CONFIRMED'));
  });

  it('changes nothing without the header, and ignores a preference it cannot honour (RFC 7240)', async () => {
    const kettle = await product();
    for (const prefer of [undefined, 'wait=0', 'wait=31', 'wait=abc', 'wait=1.5', 'wait=', 'wait=-3', 'respond-async', 'handling=strict']) {
      const answer = await http(target(), 'POST', '/orders', checkout(kettle), prefer === undefined ? {} : { prefer });
      expect({ prefer, status: answer.status, applied: answer.headers.get('preference-applied') }).toEqual({ prefer, status: 202, applied: null });
      expect(answer.body).toEqual({ orderId: expect.any(String), status: 'PENDING' });
      expect(answer.headers.get('location')).toBe(`/orders/${answer.body.orderId}`);
    }
  });
}

describeEachTopology(topologies, 'Prefer: wait on POST /orders in the %s topology', (topology) => {
  let store: TestTopology;

  beforeAll(async () => {
    store = await startTopology(topology, ENV);
  }, 90_000);
  afterAll(async () => {
    await store?.close();
  });
  afterEach(async () => {
    await waitForQuiet(store.database.url);
    await assertStoreInvariants(store.database.url);
  });

  examples(() => store);

  it('50 clients waiting at once hold no database connection: Orders has none active or in a transaction, and still answers', async () => {
    const kettle = `WAIT-MANY-${topology.toUpperCase()}`;
    expect((await http(store, 'POST', '/inventory/products', { sku: kettle, name: 'Kettle', priceCents: 100, stock: 1_000 })).status).toBe(201);
    const blocked = await blockCharges(store.database.url);
    const settled = new Set<number>();
    const answers = Array.from({ length: 50 }, (_, n) =>
      http(store, 'POST', '/orders', checkout(kettle, { customerId: `cust-many-${n}` }), { prefer: 'wait=20' }).finally(() => settled.add(n)),
    );
    const admin = new pg.Client({ connectionString: store.database.url });
    await admin.connect();
    const samples: Array<{ busy: number; total: number }> = [];
    try {
      // Every order is placed (its checkout blocked at the charge): 50 clients now wait.
      await eventually(
        async () => expect((await admin.query(`SELECT count(*)::int AS n FROM orders.orders WHERE customer_id LIKE 'cust-many-%'`)).rows[0].n).toBe(50),
        30_000,
      );
      // ...and has begun its wait (its saga marked watched): before that its statements may still be in flight, on a loaded machine.
      await eventually(
        async () =>
          expect(
            (
              await admin.query(
                `SELECT count(*)::int AS n FROM orders.sagas s JOIN orders.orders o ON s.key = o.id::text WHERE o.customer_id LIKE 'cust-many-%' AND s.saga = 'checkout' AND s.watched`,
              )
            ).rows[0].n,
          ).toBe(50),
        30_000,
      );
      for (let sample = 0; sample < 5; sample++) {
        const { rows } = await admin.query(
          `SELECT count(*) FILTER (WHERE state IN ('active', 'idle in transaction'))::int AS busy, count(*)::int AS total
             FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'monolith-first:orders%'`,
        );
        samples.push(rows[0]);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Orders answers while they wait: its pool is not theirs.
      const one = await admin.query(`SELECT id FROM orders.orders WHERE customer_id = 'cust-many-0'`);
      expect((await http(store, 'GET', `/orders/${one.rows[0].id}`)).body.status).toBe('PENDING');
      expect(settled.size).toBe(0);
    } finally {
      await blocked.release();
      await admin.end();
    }
    for (const sample of samples) {
      // The runners are blocked in the charge, the waiters hold nothing: at most a background sample runs.
      expect(sample.busy).toBeLessThanOrEqual(1);
      // The pool (DB_POOL_SIZE, 5) plus the relay's and the saga ends' LISTEN connections of the one process hosting Orders.
      expect(sample.total).toBeLessThanOrEqual(5 + 2);
    }
    // Released, every checkout ends and wakes its client within its N seconds.
    const statuses = (await Promise.all(answers)).map((answer) => `${answer.status} ${answer.body.status} ${answer.headers.get('preference-applied')}`);
    expect(statuses).toEqual(Array(50).fill('201 CONFIRMED wait=20'));
  }, 60_000);
});

/**
 * Two replicas of Orders behind one gateway: a placeOrder and its awaitOrder go to either
 * replica (a NATS queue group), so the saga often ends on another replica than the one the
 * client waits on: its end reaches the waiter through PostgreSQL (LISTEN/NOTIFY).
 */
describeWithNats('Prefer: wait with two replicas of Orders', () => {
  let database: TestDatabase;
  const processes: TestStore[] = [];
  const prefix = `t${randomBytes(4).toString('hex')}`;
  let gateway: Target;

  beforeAll(async () => {
    database = await createTestDatabase();
    const shared = { ...ENV, NATS_URL, NATS_SUBJECT_PREFIX: prefix, SERVICE_TOKEN: randomBytes(16).toString('hex') };
    for (const env of [
      { MODULES: 'orders', GATEWAY: 'off' },
      { MODULES: 'orders', GATEWAY: 'off' },
      { MODULES: 'inventory,payments,shipping,notifications', GATEWAY: 'on' },
    ]) {
      processes.push(await startTestStore({ ...shared, ...env }, { database }));
    }
    gateway = { url: processes[2].url, database };
    await eventually(async () => expect((await http(gateway, 'GET', '/health')).status).toBe(200), 15_000, 50);
  }, 90_000);
  afterAll(async () => {
    for (const process of processes.reverse()) await process.close().catch(() => {});
    await database?.drop();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
  });
  afterEach(async () => {
    await waitForQuiet(database.url);
    await assertStoreInvariants(database.url);
  });

  examples(() => gateway);

  it('wakes every waiter, whichever replica ran its checkout', async () => {
    expect((await http(gateway, 'POST', '/inventory/products', { sku: 'WAIT-REPLICAS', name: 'Kettle', priceCents: 100, stock: 1_000 })).status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        http(gateway, 'POST', '/orders', checkout('WAIT-REPLICAS', { paymentToken: n % 3 === 0 ? 'tok_declined' : 'tok_visa' }), { prefer: 'wait=15' }),
      ),
    );
    expect(answers.map((answer) => `${answer.status} ${answer.body.status}`)).toEqual(
      Array.from({ length: 12 }, (_, n) => (n % 3 === 0 ? '201 CANCELLED' : '201 CONFIRMED')),
    );
    // Some of the waits (of this suite) were woken by another replica's end: the NOTIFY path ran, not only the in-process one.
    const woken = async (store: TestStore, how: string) => {
      const text = await (await fetch(`${store.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`saga_end_waits_total{saga="checkout",woken="${how}"}`));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    const notified = (await woken(processes[0], 'notify')) + (await woken(processes[1], 'notify'));
    const local = (await woken(processes[0], 'local')) + (await woken(processes[1], 'local'));
    expect({ notified: notified > 0, local: local > 0 }).toEqual({ notified: true, local: true });
  }, 60_000);
});

/** Waiting changes nothing at the door (ADR 16): a checkout over the in-flight bound is refused at once, not waited for. */
describe('Prefer: wait under the in-flight bound', () => {
  let store: TestStore;

  beforeAll(async () => {
    store = await startTestStore({ ...ENV, CHECKOUT_ADMISSION_MIN_IN_FLIGHT: '1' });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('refuses the checkout past the bound with 503 and Retry-After, while the admitted one waits and ends 201', async () => {
    expect((await http(store, 'POST', '/inventory/products', { sku: 'WAIT-BOUND', name: 'Kettle', priceCents: 100, stock: 10 })).status).toBe(201);
    const blocked = await blockCharges(store.database.url);
    let refused;
    let admitted;
    try {
      admitted = http(store, 'POST', '/orders', checkout('WAIT-BOUND'), { prefer: 'wait=20' });
      const admin = new pg.Client({ connectionString: store.database.url });
      await admin.connect();
      try {
        await eventually(async () => expect((await admin.query(`SELECT count(*)::int AS n FROM orders.orders`)).rows[0].n).toBe(1));
      } finally {
        await admin.end();
      }
      refused = await eventually(async () => {
        const answer = await http(store, 'POST', '/orders', checkout('WAIT-BOUND'), { prefer: 'wait=20' });
        expect(answer.status).toBe(503);
        return answer;
      });
    } finally {
      await blocked.release();
    }
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('preference-applied')).toBeNull();
    const answer = await admitted;
    expect({ status: answer.status, order: answer.body.status }).toEqual({ status: 201, order: 'CONFIRMED' });
  }, 60_000);
});
