import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import pg from 'pg';
import { NATS_URL } from '../support/nats.js';
import { eventually } from '../support/eventually.js';
import { assertStoreInvariants, waitForQuiet } from '../support/store-invariants.js';
import { http } from '../support/test-store.js';
import { startTopology, type TestTopology, topologiesUnderTest } from '../support/test-topology.js';

// The same suite against every placement of the modules (TOPOLOGY selects one).
const topologies = await topologiesUnderTest();

const address = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Notification {
  notificationId: string;
  customerId: string;
  orderId: string;
  kind: 'ORDER_CONFIRMED' | 'ORDER_CANCELLED';
  reason: string | null;
  createdAt: string;
}

/**
 * Notifications, the module that only listens, over real HTTP: every end of a
 * checkout gives its customer exactly one notification of the right kind and
 * reason, listed oldest first, whatever delivers the event how often.
 */
describe.each(topologies)('notifications over HTTP in the %s topology', (topology) => {
  let store: TestTopology;
  let admin: pg.Client;
  let sku = 0;
  let customers = 0;

  beforeAll(async () => {
    store = await startTopology(topology, { CHECKOUT_RETRY_DELAY_MS: '20', REMOTE_CALL_TIMEOUT_MS: '2000' });
    admin = new pg.Client({ connectionString: store.database.url });
    await admin.connect();
  }, 60_000);
  afterAll(async () => {
    await admin?.end();
    await store?.close();
  });
  afterEach(async () => {
    await waitForQuiet(store.database.url);
    await assertStoreInvariants(store.database.url);
  });

  const customer = () => `cust-${topology}-${++customers}`;

  async function product(stock: number): Promise<string> {
    const name = `SKU-${++sku}`;
    expect((await http(store, 'POST', '/inventory/products', { sku: name, name: 'Kettle', priceCents: 2599, stock })).status).toBe(201);
    return name;
  }

  /** Places an order and waits until it has ended, as a client sees it. */
  async function checkout(customerId: string, item: { sku: string; quantity: number }, extra: Record<string, unknown> = {}) {
    const placed = await http(store, 'POST', '/orders', { customerId, items: [item], paymentToken: 'tok_visa', shippingAddress: address, ...extra });
    expect(placed.status).toBe(202);
    return eventually(async () => {
      const order = await http(store, 'GET', `/orders/${placed.body.orderId}`);
      expect(order.body.status).not.toBe('PENDING');
      return order.body as { orderId: string; status: string; failureReason: string | null };
    });
  }

  async function notificationsOf(customerId: string): Promise<Notification[]> {
    const response = await http(store, 'GET', `/notifications?customerId=${encodeURIComponent(customerId)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return response.body;
  }

  /** The customer's notifications once there are `count` of them (they follow the order's status by an event). */
  async function eventuallyNotified(customerId: string, count: number): Promise<Notification[]> {
    return eventually(async () => {
      const notifications = await notificationsOf(customerId);
      expect(notifications).toHaveLength(count);
      return notifications;
    });
  }

  it('is listed by /health, hosted here or elsewhere', async () => {
    const health = await http(store, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.modules.notifications).toEqual({ location: topology === 'microservices' ? 'remote' : 'local', status: 'up' });
    expect(Object.keys(health.body.modules).sort()).toEqual(['inventory', 'notifications', 'orders', 'payments', 'shipping']);
  });

  it('gives one notification per ended checkout, of the right kind and reason, oldest first', async () => {
    const ada = customer();
    const plenty = await product(100);
    const scarce = await product(1);
    // One at a time, each notified before the next is placed: events of different orders may be
    // handled in any order, so only then is the order of the list the order they ended in.
    const confirmed = await checkout(ada, { sku: plenty, quantity: 1 });
    await eventuallyNotified(ada, 1);
    const declined = await checkout(ada, { sku: plenty, quantity: 1 }, { paymentToken: 'tok_declined' });
    await eventuallyNotified(ada, 2);
    const short = await checkout(ada, { sku: scarce, quantity: 2 });
    await eventuallyNotified(ada, 3);
    const antarctic = await checkout(ada, { sku: plenty, quantity: 1 }, { shippingAddress: { ...address, country: 'AQ' } });
    expect([confirmed, declined, short, antarctic].map((order) => [order.status, order.failureReason])).toEqual([
      ['CONFIRMED', null],
      ['CANCELLED', 'PAYMENT_DECLINED'],
      ['CANCELLED', 'OUT_OF_STOCK'],
      ['CANCELLED', 'SHIPPING_UNAVAILABLE'],
    ]);

    const notifications = await eventuallyNotified(ada, 4);
    expect(notifications.map(({ orderId, kind, reason, customerId }) => ({ orderId, kind, reason, customerId }))).toEqual([
      { orderId: confirmed.orderId, kind: 'ORDER_CONFIRMED', reason: null, customerId: ada },
      { orderId: declined.orderId, kind: 'ORDER_CANCELLED', reason: 'PAYMENT_DECLINED', customerId: ada },
      { orderId: short.orderId, kind: 'ORDER_CANCELLED', reason: 'OUT_OF_STOCK', customerId: ada },
      { orderId: antarctic.orderId, kind: 'ORDER_CANCELLED', reason: 'SHIPPING_UNAVAILABLE', customerId: ada },
    ]);
    for (const notification of notifications) {
      expect(Object.keys(notification).sort()).toEqual(['createdAt', 'customerId', 'kind', 'notificationId', 'orderId', 'reason']);
      expect(notification.notificationId).toMatch(UUID);
      expect(notification.createdAt).toMatch(ISO);
    }
    expect(new Set(notifications.map((n) => n.notificationId)).size).toBe(4);
    const times = notifications.map((n) => n.createdAt);
    expect([...times].sort()).toEqual(times);

    // Later orders of others change nothing for this customer, and theirs are theirs alone.
    const bob = customer();
    const bobs = await checkout(bob, { sku: plenty, quantity: 1 });
    expect(await eventuallyNotified(bob, 1)).toMatchObject([{ orderId: bobs.orderId, customerId: bob, kind: 'ORDER_CONFIRMED', reason: null }]);
    await waitForQuiet(store.database.url);
    expect(await notificationsOf(ada)).toEqual(notifications);
  });

  it('answers [] for a customer with no orders, and for a customer id only differing in case', async () => {
    const ada = customer();
    await checkout(ada, { sku: await product(5), quantity: 1 });
    await eventuallyNotified(ada, 1);
    expect(await notificationsOf('nobody-at-all')).toEqual([]);
    expect(await notificationsOf(ada.toUpperCase())).toEqual([]);
    expect(await notificationsOf('c'.repeat(100))).toEqual([]);
  });

  it.each([
    ['without customerId', ''],
    ['with an empty customerId', '?customerId='],
    ['with a customerId over 100 characters', `?customerId=${'c'.repeat(101)}`],
    ['with two customerIds', '?customerId=a&customerId=b'],
    ['with an unknown parameter', '?customerId=a&orderId=b'],
  ])('answers 400 problem+json %s', async (_case, query) => {
    const response = await http(store, 'GET', `/notifications${query}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400 });
    expect(response.body.errors.map((error: { field: string }) => error.field)).toEqual([query.includes('orderId') ? 'orderId' : 'customerId']);
  });

  if (topology === 'monolith') {
    it('in one process, records each event and its notification in one statement: no transaction', async () => {
      const [only] = [...store.processes.values()];
      const transactions = jest.spyOn(only.application.databases.get('notifications'), 'transaction');
      try {
        const customers = Array.from({ length: 6 }, () => customer());
        const sku = await product(10);
        await Promise.all(customers.map((id) => checkout(id, { sku, quantity: 1 })));
        for (const id of customers) expect((await eventuallyNotified(id, 1)).map((n) => n.kind)).toEqual(['ORDER_CONFIRMED']);
        expect(transactions).not.toHaveBeenCalled();
      } finally {
        transactions.mockRestore();
      }
    });
  }

  describe('an event delivered again', () => {
    const SUBSCRIBER = 'notifications.order-outcomes';
    // In one process the outbox delivers to the subscriber; across processes it delivers to the stream (ADR 12).
    const streamed = topology !== 'monolith';

    /** The delivery of the order's event, in Orders' outbox: DELIVERED once it has left the queue. */
    async function delivery(orderId: string, event: string): Promise<{ eventId: string; status: string }> {
      const { rows } = await admin.query<{ event_id: string; status: string }>(
        `SELECT o.id AS event_id, coalesce(d.status, 'DELIVERED') AS status
           FROM orders.outbox o LEFT JOIN orders.outbox_deliveries d ON d.event_id = o.id AND d.subscriber = $3
          WHERE o.aggregate_id = $1 AND o.name = $2`,
        [orderId, event, streamed ? 'stream' : SUBSCRIBER],
      );
      expect(rows).toHaveLength(1);
      return { eventId: rows[0].event_id, status: rows[0].status };
    }

    /**
     * The event once more, as if its acknowledgement had been lost. In one process: its delivery
     * put back in line, Orders' relay woken. Across processes: a second copy of it in the stream
     * (what a publication repeated after JetStream's duplicate window leaves), under the service
     * token; then wait until Notifications' consumer has nothing left in hand.
     */
    async function redeliver(eventId: string, orderId: string, event: string): Promise<void> {
      if (!streamed) {
        const { rowCount } = await admin.query(
          `INSERT INTO orders.outbox_deliveries (event_id, subscriber, position, aggregate_id)
           SELECT id, $2, position, aggregate_id FROM orders.outbox WHERE id = $1
           ON CONFLICT DO NOTHING`,
          [eventId, SUBSCRIBER],
        );
        expect(rowCount).toBe(1);
        await admin.query(`SELECT pg_notify('outbox_orders', '')`);
        await eventually(async () => expect((await delivery(orderId, event)).status).toBe('DELIVERED'));
        return;
      }
      const [row] = (await admin.query('SELECT id, name, version, aggregate_id, payload, headers, occurred_at FROM orders.outbox WHERE id = $1', [eventId]))
        .rows;
      const notifications = [...store.processes.values()].find((p) => p.config.hostedModules.includes('notifications'))!;
      const { natsSubjectPrefix, serviceToken } = notifications.config;
      const connection = await connect({ servers: NATS_URL });
      try {
        const h = headers();
        h.set('Mf-Service-Token', serviceToken!);
        const envelope = {
          id: row.id,
          name: row.name,
          version: row.version,
          publisher: 'orders',
          aggregateId: row.aggregate_id,
          occurredAt: row.occurred_at.toISOString(),
          payload: row.payload,
          headers: row.headers,
        };
        await jetstream(connection).publish(`${natsSubjectPrefix}.events.${row.name}`, JSON.stringify(envelope), { headers: h, msgID: randomUUID() });
      } finally {
        await connection.close();
      }
      await eventually(async () => {
        const [stats] = await notifications.application.messaging.consumerStats();
        expect(stats).toMatchObject({ pending: 0, unacknowledged: 0 });
      });
    }

    async function inboxed(eventId: string): Promise<number> {
      return (await admin.query('SELECT 1 FROM notifications.inbox WHERE event_id = $1 AND handler = $2', [eventId, SUBSCRIBER])).rowCount ?? 0;
    }

    it.each([
      ['an OrderConfirmed', 'orders.OrderConfirmed', {}],
      ['an OrderCancelled', 'orders.OrderCancelled', { paymentToken: 'tok_declined' }],
    ])('creates nothing twice for %s redelivered, remembered by the inbox or not', async (_what, event, extra) => {
      const ada = customer();
      const order = await checkout(ada, { sku: await product(5), quantity: 1 }, extra);
      const [first] = await eventuallyNotified(ada, 1);
      const { eventId } = await eventually(async () => {
        const found = await delivery(order.orderId, event);
        expect(found.status).toBe('DELIVERED');
        return found;
      });
      expect(await inboxed(eventId)).toBe(1);

      // A duplicate the inbox remembers: skipped.
      await redeliver(eventId, order.orderId, event);
      expect(await notificationsOf(ada)).toEqual([first]);

      // A second handling (the inbox record gone, as after its retention): the handler runs again,
      // in a transaction that records the event anew, and the notification is still the one it was.
      await admin.query('DELETE FROM notifications.inbox WHERE event_id = $1 AND handler = $2', [eventId, SUBSCRIBER]);
      await redeliver(eventId, order.orderId, event);
      await eventually(async () => expect(await inboxed(eventId)).toBe(1));
      expect(await notificationsOf(ada)).toEqual([first]);
    });
  });
});
