import pg from 'pg';
import { eventually } from '../support/eventually.js';
import { describeEachTopology } from '../support/needs-nats.js';
import { assertStoreInvariants, waitForQuiet } from '../support/store-invariants.js';
import { http } from '../support/test-store.js';
import { startTopology, type TestTopology, topologiesUnderTest } from '../support/test-topology.js';

// The second saga on the engine, against every placement of the modules (TOPOLOGY selects one).
const topologies = await topologiesUnderTest();

const address = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };

describeEachTopology(topologies, 'cancellation by the customer in the %s topology', (topology) => {
  let store: TestTopology;
  let sku = 0;

  beforeAll(async () => {
    store = await startTopology(topology, { CHECKOUT_RETRY_DELAY_MS: '20', REMOTE_CALL_TIMEOUT_MS: '2000' });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });
  afterEach(async () => {
    await waitForQuiet(store.database.url);
    await assertStoreInvariants(store.database.url);
  });

  async function product(stock: number): Promise<string> {
    const name = `CAN-${++sku}`;
    expect((await http(store, 'POST', '/inventory/products', { sku: name, name: 'Kettle', priceCents: 1000, stock })).status).toBe(201);
    return name;
  }

  async function place(skuName: string, paymentToken = 'tok_visa'): Promise<string> {
    const placed = await http(store, 'POST', '/orders', {
      customerId: 'cust-c',
      items: [{ sku: skuName, quantity: 2 }],
      paymentToken,
      shippingAddress: address,
    });
    expect(placed.status).toBe(202);
    return placed.body.orderId;
  }

  async function settled(orderId: string, unlike: string[] = ['PENDING', 'CANCELLING']) {
    return eventually(async () => {
      const order = await http(store, 'GET', `/orders/${orderId}`);
      expect(unlike).not.toContain(order.body.status);
      return order.body;
    });
  }

  /**
   * The checkout's and the cancellation's entries. A CONFIRMED order's delivery also waits (AWAIT_DELIVERY,
   * from its confirmation's event, at a moment of its own; a cancellation ends it): delivery.e2e.spec checks those.
   */
  async function sagaLog(orderId: string): Promise<string[]> {
    const log = await http(store, 'GET', `/orders/${orderId}/saga`);
    return log.body
      .filter((entry: { step: string }) => entry.step !== 'AWAIT_DELIVERY')
      .map((entry: { step: string; status: string }) => `${entry.step} ${entry.status}`);
  }

  const CHECKOUT_LOG = [
    'CHARGE_PAYMENT STARTED',
    'CHARGE_PAYMENT SUCCEEDED',
    'RESERVE_STOCK STARTED',
    'RESERVE_STOCK SUCCEEDED',
    'SCHEDULE_SHIPMENT STARTED',
    'SCHEDULE_SHIPMENT SUCCEEDED',
  ];
  const CANCELLATION_LOG = [
    'CANCEL_SHIPMENT STARTED',
    'CANCEL_SHIPMENT SUCCEEDED',
    'RELEASE_STOCK STARTED',
    'RELEASE_STOCK SUCCEEDED',
    'REFUND_PAYMENT STARTED',
    'REFUND_PAYMENT SUCCEEDED',
  ];

  it('cancels a CONFIRMED order: shipment cancelled, stock released, charge refunded, CANCELLED_BY_CUSTOMER, notified after its confirmation', async () => {
    const kettle = await product(10);
    const orderId = await place(kettle);
    const confirmed = await settled(orderId);
    expect(confirmed.status).toBe('CONFIRMED');

    const cancelled = await http(store, 'POST', `/orders/${orderId}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.headers.get('location')).toBe(`/orders/${orderId}`);
    expect(cancelled.body).toEqual({ orderId, status: 'CANCELLING' });

    const order = await settled(orderId);
    expect(order).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'CANCELLED_BY_CUSTOMER',
      paymentId: confirmed.paymentId,
      shipmentId: confirmed.shipmentId,
    });
    expect(await sagaLog(orderId)).toEqual([...CHECKOUT_LOG, ...CANCELLATION_LOG]);
    expect((await http(store, 'GET', `/payments/${order.paymentId}`)).body).toMatchObject({ status: 'REFUNDED', amountCents: 2000 });
    expect((await http(store, 'GET', `/shipments/${order.shipmentId}`)).body).toMatchObject({ status: 'CANCELLED' });
    expect((await http(store, 'GET', `/inventory/products/${kettle}`)).body).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
    const notifications = await eventually(async () => {
      const mine = (await http(store, 'GET', '/notifications?customerId=cust-c')).body.filter((n: { orderId: string }) => n.orderId === orderId);
      expect(mine).toHaveLength(2);
      return mine.map((n: { kind: string; reason: string | null }) => `${n.kind} ${n.reason}`);
    });
    expect(notifications).toEqual(['ORDER_CONFIRMED null', 'ORDER_CANCELLED CANCELLED_BY_CUSTOMER']);
  });

  it('answers a repeat with 200 and where the order stands, starting nothing new; concurrent requests start one cancellation', async () => {
    const orderId = await place(await product(10));
    expect((await settled(orderId)).status).toBe('CONFIRMED');
    const answers = await Promise.all(Array.from({ length: 6 }, (_, n) => http(store, 'POST', `/orders/${orderId}/cancel`, n % 2 ? {} : undefined)));
    expect(answers.filter((answer) => answer.status === 202)).toHaveLength(1);
    for (const answer of answers) {
      expect([200, 202]).toContain(answer.status);
      expect(answer.body).toEqual({ orderId, status: expect.stringMatching(/^CANCELL(ING|ED)$/) });
    }
    await settled(orderId);
    const again = await http(store, 'POST', `/orders/${orderId}/cancel`, {});
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ orderId, status: 'CANCELLED' });
    expect(again.headers.get('location')).toBe(`/orders/${orderId}`);
    expect(await sagaLog(orderId)).toEqual([...CHECKOUT_LOG, ...CANCELLATION_LOG]);
  });

  it('answers 409 for an order its checkout cancelled, and changes nothing', async () => {
    const orderId = await place(await product(10), 'tok_declined');
    expect((await settled(orderId)).failureReason).toBe('PAYMENT_DECLINED');
    const refused = await http(store, 'POST', `/orders/${orderId}/cancel`);
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await http(store, 'GET', `/orders/${orderId}`)).body).toMatchObject({ status: 'CANCELLED', failureReason: 'PAYMENT_DECLINED' });
    expect(await sagaLog(orderId)).toEqual(['CHARGE_PAYMENT STARTED', 'CHARGE_PAYMENT FAILED']);
  });

  it('answers 409 while the order is PENDING: a cancellation never races its checkout', async () => {
    const kettle = await product(10);
    // Charges block on the payments table, so the checkout stays PENDING.
    const locker = new pg.Client({ connectionString: store.database.url });
    await locker.connect();
    let orderId: string;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE payments.payments IN SHARE ROW EXCLUSIVE MODE');
      orderId = await place(kettle);
      const refused = await http(store, 'POST', `/orders/${orderId}/cancel`);
      expect(refused.status).toBe(409);
      expect((await http(store, 'GET', `/orders/${orderId}`)).body.status).toBe('PENDING');
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end();
    }
    expect((await settled(orderId)).status).toBe('CONFIRMED');
    expect(await sagaLog(orderId)).toEqual(CHECKOUT_LOG);
  });

  it('answers 404 for an unknown order and 400 for a body with any property, starting nothing', async () => {
    expect((await http(store, 'POST', '/orders/00000000-0000-4000-8000-000000000000/cancel')).status).toBe(404);
    expect((await http(store, 'POST', '/orders/not-an-id/cancel')).status).toBe(404);
    const orderId = await place(await product(10));
    expect((await settled(orderId)).status).toBe('CONFIRMED');
    for (const body of [{ reason: 'changed my mind' }, { orderId }, [], 'x']) {
      const refused = await http(store, 'POST', `/orders/${orderId}/cancel`, body);
      expect(refused.status).toBe(400);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    expect((await http(store, 'GET', `/orders/${orderId}`)).body.status).toBe('CONFIRMED');
    expect(await sagaLog(orderId)).toEqual(CHECKOUT_LOG);
  });
});
