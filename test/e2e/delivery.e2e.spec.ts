import { createHmac, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ProcessPlan } from '../../tools/topology/topologies.js';
import { eventually } from '../support/eventually.js';
import { describeEachTopology } from '../support/needs-nats.js';
import { assertStoreInvariants, waitForQuiet } from '../support/store-invariants.js';
import { http } from '../support/test-store.js';
import { startTopology, type TestTopology, topologiesUnderTest } from '../support/test-topology.js';

const topologies = await topologiesUnderTest();

const SECRET = 'whsec_delivery_5e2a91c7';
/** Seconds, as tests set them (store-api.md): long enough to send a webhook after the confirmation on a busy machine. */
const DELIVERY_DEADLINE_MS = 8_000;
const REVIEW_DELAY_MS = 2_000;
const address = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };

function sign(body: string, t: number = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex')}`;
}

/** The carrier's webhook, signed as the carrier signs it. */
async function carrier(topology: TestTopology, shipmentId: string, event: 'DELIVERED' | 'RETURNED'): Promise<number> {
  const body = JSON.stringify({ shipmentId, event, at: new Date().toISOString() });
  const answer = await http(topology, 'POST', '/shipping/carrier-events', body, { 'content-type': 'application/json', 'carrier-signature': sign(body) });
  return answer.status;
}

const hostsShipping = (plan: ProcessPlan) => plan.env.MODULES === undefined || plan.env.MODULES.split(',').includes('shipping');

type Step = { step: string; status: string; at: string };

/**
 * Orders' delivery workflow (store-api.md, "Delivery: a workflow that waits"), as a customer and
 * the carrier see it, in every topology: a CONFIRMED order waits for the carrier's signed webhook;
 * DELIVERED commits the stock and then, after the review delay, a review is requested; RETURNED or
 * nothing before the deadline undoes the order; a customer's cancellation ends the wait; a carrier
 * event for an order no longer waiting changes nothing.
 */
describeEachTopology(topologies, 'the delivery workflow in the %s topology', (topologyName) => {
  let topology: TestTopology;
  let customer: string;

  beforeAll(async () => {
    topology = await startTopology(
      topologyName,
      { DELIVERY_DEADLINE_MS: String(DELIVERY_DEADLINE_MS), REVIEW_DELAY_MS: String(REVIEW_DELAY_MS) },
      (plan): Record<string, string> => (hostsShipping(plan) ? { CARRIER_WEBHOOK_SECRET: SECRET } : {}),
    );
  }, 120_000);
  afterAll(async () => {
    await topology?.close();
  });

  let sku: string;
  beforeEach(async () => {
    customer = `cust-${randomUUID().slice(0, 8)}`;
    sku = `DLV-${randomUUID().slice(0, 8).toUpperCase()}`;
    expect((await http(topology, 'POST', '/inventory/products', { sku, name: 'Kettle', priceCents: 2_500, stock: 10 })).status).toBe(201);
  });

  /** A CONFIRMED order of 2 of the sku, as the client waiting for it gets it. */
  async function confirmedOrder(): Promise<{ orderId: string; shipmentId: string; paymentId: string }> {
    const placed = await http(
      topology,
      'POST',
      '/orders',
      { customerId: customer, items: [{ sku, quantity: 2 }], paymentToken: 'tok_visa', shippingAddress: address },
      { prefer: 'wait=20' },
    );
    expect(placed.status).toBe(201);
    expect(placed.body.status).toBe('CONFIRMED');
    return { orderId: placed.body.orderId, shipmentId: placed.body.shipmentId, paymentId: placed.body.paymentId };
  }

  const order = async (orderId: string) => (await http(topology, 'GET', `/orders/${orderId}`)).body;
  const product = async () => (await http(topology, 'GET', `/inventory/products/${sku}`)).body;
  const shipment = async (shipmentId: string) => (await http(topology, 'GET', `/shipments/${shipmentId}`)).body.status;
  const payment = async (paymentId: string) => (await http(topology, 'GET', `/payments/${paymentId}`)).body.status;
  const notifications = async () =>
    ((await http(topology, 'GET', `/notifications?customerId=${customer}`)).body as Array<{ kind: string; reason: string | null }>).map(({ kind, reason }) => ({
      kind,
      reason,
    }));
  const log = async (orderId: string): Promise<Step[]> => (await http(topology, 'GET', `/orders/${orderId}/saga`)).body;
  const deliverySteps = (steps: Step[]) =>
    steps
      .filter(
        (entry) =>
          ['AWAIT_DELIVERY', 'COMMIT_STOCK', 'REQUEST_REVIEW'].includes(entry.step) ||
          entry.step.startsWith('CANCEL') ||
          entry.step.startsWith('RELEASE') ||
          entry.step.startsWith('REFUND'),
      )
      .map(({ step, status }) => `${step} ${status}`);

  /** The delivery workflow has begun waiting for the order's parcel. */
  async function waiting(orderId: string): Promise<void> {
    await eventually(async () => expect((await log(orderId)).map(({ step, status }) => `${step} ${status}`)).toContain('AWAIT_DELIVERY STARTED'), 20_000, 100);
  }

  it('DELIVERED: commits the stock, the order is DELIVERED, and after the review delay a review is requested', async () => {
    const { orderId, shipmentId, paymentId } = await confirmedOrder();
    expect(await product()).toMatchObject({ onHand: 10, reserved: 2, available: 8 });
    await waiting(orderId);
    expect(await carrier(topology, shipmentId, 'DELIVERED')).toBe(204);

    await eventually(async () => expect((await order(orderId)).status).toBe('DELIVERED'), 20_000, 100);
    expect(await order(orderId)).toMatchObject({ status: 'DELIVERED', failureReason: null });
    // Sold: onHand and reserved both down by the quantity.
    expect(await product()).toMatchObject({ onHand: 8, reserved: 0, available: 8 });
    expect(await shipment(shipmentId)).toBe('DELIVERED');
    expect(await payment(paymentId)).toBe('CAPTURED');

    // A DELIVERED order cannot be cancelled.
    const cancel = await http(topology, 'POST', `/orders/${orderId}/cancel`);
    expect(cancel.status).toBe(409);
    expect(cancel.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    await eventually(
      async () =>
        expect(await notifications()).toEqual([
          { kind: 'ORDER_CONFIRMED', reason: null },
          { kind: 'REVIEW_REQUESTED', reason: null },
        ]),
      30_000,
      100,
    );
    const steps = await log(orderId);
    expect(deliverySteps(steps)).toEqual([
      'AWAIT_DELIVERY STARTED',
      'AWAIT_DELIVERY SUCCEEDED',
      'COMMIT_STOCK STARTED',
      'COMMIT_STOCK SUCCEEDED',
      'REQUEST_REVIEW STARTED',
      'REQUEST_REVIEW SUCCEEDED',
    ]);
    // Not before its delay (both times are the database's).
    const at = (entry: string) => Date.parse(steps.find(({ step, status }) => `${step} ${status}` === entry)!.at);
    expect(at('REQUEST_REVIEW SUCCEEDED') - at('COMMIT_STOCK SUCCEEDED')).toBeGreaterThanOrEqual(REVIEW_DELAY_MS - 50);

    // The carrier changing its mind later changes nothing.
    expect(await carrier(topology, shipmentId, 'RETURNED')).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await order(orderId)).status).toBe('DELIVERED');
    expect(await shipment(shipmentId)).toBe('DELIVERED');
    expect(await notifications()).toHaveLength(2);
  }, 90_000);

  it('RETURNED: undoes the order (shipment, stock, payment), CANCELLED with RETURNED', async () => {
    const { orderId, shipmentId, paymentId } = await confirmedOrder();
    await waiting(orderId);
    expect(await carrier(topology, shipmentId, 'RETURNED')).toBe(204);

    await eventually(async () => expect((await order(orderId)).status).toBe('CANCELLED'), 20_000, 100);
    expect(await order(orderId)).toMatchObject({ status: 'CANCELLED', failureReason: 'RETURNED' });
    expect(await product()).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
    expect(await shipment(shipmentId)).toBe('RETURNED');
    expect(await payment(paymentId)).toBe('REFUNDED');
    expect(deliverySteps(await log(orderId))).toEqual([
      'AWAIT_DELIVERY STARTED',
      'AWAIT_DELIVERY SUCCEEDED',
      'CANCEL_SHIPMENT STARTED',
      'CANCEL_SHIPMENT SUCCEEDED',
      'RELEASE_STOCK STARTED',
      'RELEASE_STOCK SUCCEEDED',
      'REFUND_PAYMENT STARTED',
      'REFUND_PAYMENT SUCCEEDED',
    ]);
    await eventually(
      async () =>
        expect(await notifications()).toEqual([
          { kind: 'ORDER_CONFIRMED', reason: null },
          { kind: 'ORDER_CANCELLED', reason: 'RETURNED' },
        ]),
      20_000,
      100,
    );
    expect((await http(topology, 'POST', `/orders/${orderId}/cancel`)).status).toBe(409);
  }, 90_000);

  it('no carrier event before the deadline: the order is undone, CANCELLED with NOT_DELIVERED; a late DELIVERED changes nothing', async () => {
    const { orderId, shipmentId, paymentId } = await confirmedOrder();
    await waiting(orderId);
    expect((await order(orderId)).status).toBe('CONFIRMED');

    await eventually(async () => expect((await order(orderId)).status).toBe('CANCELLED'), DELIVERY_DEADLINE_MS + 20_000, 100);
    expect(await order(orderId)).toMatchObject({ status: 'CANCELLED', failureReason: 'NOT_DELIVERED' });
    expect(await product()).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
    expect(await shipment(shipmentId)).toBe('CANCELLED');
    expect(await payment(paymentId)).toBe('REFUNDED');
    expect(deliverySteps(await log(orderId))).toEqual([
      'AWAIT_DELIVERY STARTED',
      'AWAIT_DELIVERY SUCCEEDED',
      'CANCEL_SHIPMENT STARTED',
      'CANCEL_SHIPMENT SUCCEEDED',
      'RELEASE_STOCK STARTED',
      'RELEASE_STOCK SUCCEEDED',
      'REFUND_PAYMENT STARTED',
      'REFUND_PAYMENT SUCCEEDED',
    ]);
    await eventually(
      async () =>
        expect(await notifications()).toEqual([
          { kind: 'ORDER_CONFIRMED', reason: null },
          { kind: 'ORDER_CANCELLED', reason: 'NOT_DELIVERED' },
        ]),
      20_000,
      100,
    );

    // The parcel turns up after all: the carrier's event changes nothing.
    expect(await carrier(topology, shipmentId, 'DELIVERED')).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await order(orderId)).toMatchObject({ status: 'CANCELLED', failureReason: 'NOT_DELIVERED' });
    expect(await shipment(shipmentId)).toBe('CANCELLED');
    expect(await product()).toMatchObject({ onHand: 10, reserved: 0 });
  }, 90_000);

  it("a customer's cancellation ends the wait: the delivery does nothing more, not even when its deadline passes or the carrier calls", async () => {
    const { orderId, shipmentId, paymentId } = await confirmedOrder();
    await waiting(orderId);
    expect((await http(topology, 'POST', `/orders/${orderId}/cancel`)).status).toBe(202);
    await eventually(async () => expect((await order(orderId)).status).toBe('CANCELLED'), 20_000, 100);
    // The wait ended, without doing anything.
    await eventually(
      async () =>
        expect(deliverySteps(await log(orderId)).filter((entry) => entry.startsWith('AWAIT_DELIVERY'))).toEqual([
          'AWAIT_DELIVERY STARTED',
          'AWAIT_DELIVERY FAILED',
        ]),
      20_000,
      100,
    );

    expect(await carrier(topology, shipmentId, 'DELIVERED')).toBe(204);
    // Past the deadline the delivery would have given up: it has ended already.
    await new Promise((resolve) => setTimeout(resolve, DELIVERY_DEADLINE_MS + 1_000));
    expect(await order(orderId)).toMatchObject({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_CUSTOMER' });
    expect(await shipment(shipmentId)).toBe('CANCELLED');
    expect(await payment(paymentId)).toBe('REFUNDED');
    expect(await product()).toMatchObject({ onHand: 10, reserved: 0 });
    const steps = deliverySteps(await log(orderId));
    // The cancellation's three steps, once each; nothing of the delivery but its wait.
    expect(steps.filter((entry) => entry.endsWith('SUCCEEDED')).sort()).toEqual([
      'CANCEL_SHIPMENT SUCCEEDED',
      'REFUND_PAYMENT SUCCEEDED',
      'RELEASE_STOCK SUCCEEDED',
    ]);
    expect(steps).not.toContain('COMMIT_STOCK STARTED');
    expect(await notifications()).toEqual([
      { kind: 'ORDER_CONFIRMED', reason: null },
      { kind: 'ORDER_CANCELLED', reason: 'CANCELLED_BY_CUSTOMER' },
    ]);
  }, 90_000);

  it("a customer's cancellation racing the carrier's RETURNED: one of them undoes each order, once", async () => {
    const orders = await Promise.all(Array.from({ length: 4 }, () => confirmedOrder()));
    for (const { orderId } of orders) await waiting(orderId);
    const answers = await Promise.all(
      orders.flatMap(({ orderId, shipmentId }) => [
        http(topology, 'POST', `/orders/${orderId}/cancel`).then((answer) => answer.status),
        carrier(topology, shipmentId, 'RETURNED'),
      ]),
    );
    // Each cancellation was accepted (the order was still CONFIRMED) or refused (its delivery was undoing it).
    for (let i = 0; i < answers.length; i += 2) expect([202, 409]).toContain(answers[i]);
    for (let i = 1; i < answers.length; i += 2) expect(answers[i]).toBe(204);
    for (const { orderId, paymentId } of orders) {
      await eventually(async () => expect((await order(orderId)).status).toBe('CANCELLED'), 30_000, 100);
      const { failureReason } = await order(orderId);
      expect(['CANCELLED_BY_CUSTOMER', 'RETURNED']).toContain(failureReason);
      expect(await payment(paymentId)).toBe('REFUNDED');
    }
    await eventually(
      async () => {
        const kinds = await notifications();
        expect(kinds.filter(({ kind }) => kind === 'ORDER_CANCELLED')).toHaveLength(orders.length);
        expect(kinds.filter(({ kind }) => kind === 'ORDER_CONFIRMED')).toHaveLength(orders.length);
      },
      20_000,
      100,
    );
    expect(await product()).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
    await waitForQuiet(topology.database.url);
    await assertStoreInvariants(topology.database.url);
  }, 90_000);

  it("the carrier's RETURNED taken after the customer's cancellation took the order: the delivery does nothing more", async () => {
    const { orderId } = await confirmedOrder();
    await waiting(orderId);
    // Hold the delivery's row: no runner takes it up, and signals wait to count (their rows are written, in order).
    const admin = new pg.Client({ connectionString: topology.database.url });
    await admin.connect();
    try {
      await admin.query('BEGIN');
      await admin.query(`SELECT 1 FROM orders.sagas WHERE saga = 'delivery' AND key = $1 FOR UPDATE`, [orderId]);
      const [{ pid }] = (await admin.query('SELECT pg_backend_pid() AS pid')).rows;
      const blocked = async () =>
        Number((await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid])).rows[0].n);
      const { shipmentId } = await order(orderId);
      expect(await carrier(topology, shipmentId, 'RETURNED')).toBe(204);
      await eventually(async () => expect(await blocked()).toBe(1), 20_000, 50);
      // The customer cancels meanwhile: the order is still CONFIRMED, so the cancellation takes it.
      const cancelled = http(topology, 'POST', `/orders/${orderId}/cancel`);
      await eventually(async () => expect((await order(orderId)).status).not.toBe('CONFIRMED'), 20_000, 50);
      await admin.query('COMMIT');
      expect((await cancelled).status).toBe(202);
    } finally {
      await admin.end();
    }
    await eventually(async () => expect((await order(orderId)).status).toBe('CANCELLED'), 30_000, 100);
    expect((await order(orderId)).failureReason).toBe('CANCELLED_BY_CUSTOMER');
    // The delivery woke to the carrier's RETURNED (the earlier signal), found the order was not its own, and stopped.
    await eventually(
      async () => {
        const steps = deliverySteps(await log(orderId));
        expect(steps.filter((entry) => entry.startsWith('AWAIT_DELIVERY') || entry.endsWith('FAILED'))).toEqual([
          'AWAIT_DELIVERY STARTED',
          'AWAIT_DELIVERY SUCCEEDED',
          'CANCEL_SHIPMENT FAILED',
        ]);
        expect(steps.filter((entry) => entry === 'REFUND_PAYMENT SUCCEEDED')).toHaveLength(1);
      },
      20_000,
      100,
    );
    const client = new pg.Client({ connectionString: topology.database.url });
    await client.connect();
    const published = await client
      .query(`SELECT count(*)::int AS n FROM orders.outbox WHERE name = 'orders.OrderCancelled' AND aggregate_id = $1`, [orderId])
      .then((result) => result.rows[0].n as number)
      .finally(() => client.end());
    expect(published).toBe(1);
  }, 90_000);

  it("the carrier's DELIVERED taken after the customer's cancellation released the stock: the sale is refused, the delivery stops", async () => {
    const { orderId, shipmentId, paymentId } = await confirmedOrder();
    await waiting(orderId);
    const admin = new pg.Client({ connectionString: topology.database.url });
    await admin.connect();
    try {
      await admin.query('BEGIN');
      await admin.query(`SELECT 1 FROM orders.sagas WHERE saga = 'delivery' AND key = $1 FOR UPDATE`, [orderId]);
      const [{ pid }] = (await admin.query('SELECT pg_backend_pid() AS pid')).rows;
      const blocked = async () =>
        Number((await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid])).rows[0].n);
      expect(await carrier(topology, shipmentId, 'DELIVERED')).toBe(204);
      await eventually(async () => expect(await blocked()).toBe(1), 20_000, 50);
      // The customer's cancellation runs to its end meanwhile (only its signal to the delivery waits for the row).
      const cancelled = http(topology, 'POST', `/orders/${orderId}/cancel`);
      await eventually(async () => expect((await order(orderId)).status).toBe('CANCELLED'), 30_000, 100);
      await admin.query('COMMIT');
      expect((await cancelled).status).toBe(202);
    } finally {
      await admin.end();
    }
    await eventually(
      async () =>
        expect(deliverySteps(await log(orderId)).filter((entry) => entry.startsWith('COMMIT_STOCK'))).toEqual(['COMMIT_STOCK STARTED', 'COMMIT_STOCK FAILED']),
      20_000,
      100,
    );
    expect(await order(orderId)).toMatchObject({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_CUSTOMER' });
    expect(await product()).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
    expect(await payment(paymentId)).toBe('REFUNDED');
    expect(await shipment(shipmentId)).toBe('DELIVERED');
    expect(deliverySteps(await log(orderId))).not.toContain('REQUEST_REVIEW STARTED');
  }, 90_000);

  it('holds the store invariants once everything has settled', async () => {
    await waitForQuiet(topology.database.url);
    await assertStoreInvariants(topology.database.url);
  }, 60_000);
});
