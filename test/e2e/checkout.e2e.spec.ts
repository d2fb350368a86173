import pg from 'pg';
import { eventually } from '../support/eventually.js';
import { assertStoreInvariants, waitForQuiet } from '../support/store-invariants.js';
import { http } from '../support/test-store.js';
import { describeEachTopology } from '../support/needs-nats.js';
import { startTopology, type TestTopology, topologiesUnderTest } from '../support/test-topology.js';

// The same suite, unchanged, against every placement of the modules (TOPOLOGY selects one).
const topologies = await topologiesUnderTest();

const address = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };
const checkout = (items: Array<{ sku: string; quantity: number }>, extra: Record<string, unknown> = {}) => ({
  customerId: 'cust-42',
  items,
  paymentToken: 'tok_visa',
  shippingAddress: address,
  ...extra,
});

describeEachTopology(topologies, 'checkout over HTTP in the %s topology: the saga, its compensations, idempotency and bad input', (topology) => {
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

  type Target = { url: string };

  async function product(stock: number, priceCents = 2599, on: Target = store): Promise<string> {
    const name = `SKU-${++sku}`;
    expect((await http(on, 'POST', '/inventory/products', { sku: name, name: 'Kettle', priceCents, stock })).status).toBe(201);
    return name;
  }

  async function place(body: unknown, headers: Record<string, string> = {}, on: Target = store) {
    return http(on, 'POST', '/orders', body, headers);
  }

  async function settled(orderId: string, on: Target = store) {
    return eventually(async () => {
      const order = await http(on, 'GET', `/orders/${orderId}`);
      expect(order.body.status).not.toBe('PENDING');
      return order.body;
    });
  }

  async function sagaLog(orderId: string, on: Target = store): Promise<string[]> {
    const log = await http(on, 'GET', `/orders/${orderId}/saga`);
    expect(log.status).toBe(200);
    return log.body.map((entry: { step: string; status: string }) => `${entry.step} ${entry.status}`);
  }

  /** The order's notifications, once it has one (they follow its status by an event). */
  async function notified(orderId: string, on: Target = store, customerId = 'cust-42') {
    return eventually(async () => {
      const response = await http(on, 'GET', `/notifications?customerId=${customerId}`);
      expect(response.status).toBe(200);
      const mine = response.body.filter((notification: { orderId: string }) => notification.orderId === orderId);
      expect(mine).not.toHaveLength(0);
      return mine.map(({ kind, reason, customerId: customer }: { kind: string; reason: string | null; customerId: string }) => ({
        kind,
        reason,
        customerId: customer,
      }));
    });
  }

  async function stock(name: string, on: Target = store) {
    return (await http(on, 'GET', `/inventory/products/${name}`)).body;
  }

  async function countOrders(): Promise<number> {
    const client = new pg.Client({ connectionString: store.database.url });
    await client.connect();
    try {
      return (await client.query('SELECT count(*)::int AS n FROM orders.orders')).rows[0].n;
    } finally {
      await client.end();
    }
  }

  it('charges, reserves, schedules and confirms (happy path)', async () => {
    const kettle = await product(10);
    const placed = await place(checkout([{ sku: kettle, quantity: 2 }]));
    expect(placed.status).toBe(202);
    expect(placed.body).toEqual({ orderId: expect.any(String), status: 'PENDING' });
    expect(placed.headers.get('location')).toBe(`/orders/${placed.body.orderId}`);

    const order = await settled(placed.body.orderId);
    expect(order).toEqual({
      orderId: placed.body.orderId,
      status: 'CONFIRMED',
      customerId: 'cust-42',
      items: [{ sku: kettle, quantity: 2, unitPriceCents: 2599 }],
      totalCents: 5198,
      paymentId: expect.any(String),
      shipmentId: expect.any(String),
      failureReason: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    // The checkout's entries, then the delivery workflow's wait (docs/api.md), which begins once the confirmation reaches it.
    await eventually(async () =>
      expect(await sagaLog(order.orderId)).toEqual([
        'CHARGE_PAYMENT STARTED',
        'CHARGE_PAYMENT SUCCEEDED',
        'RESERVE_STOCK STARTED',
        'RESERVE_STOCK SUCCEEDED',
        'SCHEDULE_SHIPMENT STARTED',
        'SCHEDULE_SHIPMENT SUCCEEDED',
        'AWAIT_DELIVERY STARTED',
      ]),
    );
    expect((await http(store, 'GET', `/payments/${order.paymentId}`)).body).toMatchObject({ orderId: order.orderId, amountCents: 5198, status: 'CAPTURED' });
    expect((await http(store, 'GET', `/shipments/${order.shipmentId}`)).body).toMatchObject({ orderId: order.orderId, status: 'SCHEDULED', address });
    expect(await stock(kettle)).toMatchObject({ onHand: 10, reserved: 2, available: 8 });
    expect(await notified(order.orderId)).toEqual([{ kind: 'ORDER_CONFIRMED', reason: null, customerId: 'cust-42' }]);
  });

  it('cancels a declined payment and does nothing else', async () => {
    const kettle = await product(10);
    const placed = await place(checkout([{ sku: kettle, quantity: 1 }], { paymentToken: 'tok_declined' }));
    const order = await settled(placed.body.orderId);
    expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'PAYMENT_DECLINED', shipmentId: null });
    expect(await sagaLog(order.orderId)).toEqual(['CHARGE_PAYMENT STARTED', 'CHARGE_PAYMENT FAILED']);
    expect((await http(store, 'GET', `/payments?orderId=${order.orderId}`)).body).toMatchObject([{ status: 'DECLINED' }]);
    expect((await http(store, 'GET', `/shipments?orderId=${order.orderId}`)).body).toEqual([]);
    expect(await stock(kettle)).toMatchObject({ reserved: 0, available: 10 });
    expect(await notified(order.orderId)).toEqual([{ kind: 'ORDER_CANCELLED', reason: 'PAYMENT_DECLINED', customerId: 'cust-42' }]);
  });

  it('refunds the charge when the stock is short (OUT_OF_STOCK)', async () => {
    const kettle = await product(1);
    const order = await settled((await place(checkout([{ sku: kettle, quantity: 2 }]))).body.orderId);
    expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'OUT_OF_STOCK' });
    expect(await sagaLog(order.orderId)).toEqual([
      'CHARGE_PAYMENT STARTED',
      'CHARGE_PAYMENT SUCCEEDED',
      'RESERVE_STOCK STARTED',
      'RESERVE_STOCK FAILED',
      'REFUND_PAYMENT STARTED',
      'REFUND_PAYMENT SUCCEEDED',
    ]);
    expect((await http(store, 'GET', `/payments?orderId=${order.orderId}`)).body).toMatchObject([{ status: 'REFUNDED', amountCents: 5198 }]);
    expect(await stock(kettle)).toMatchObject({ onHand: 1, reserved: 0 });
    expect(await notified(order.orderId)).toEqual([{ kind: 'ORDER_CANCELLED', reason: 'OUT_OF_STOCK', customerId: 'cust-42' }]);
  });

  it('reserves all lines or none (multi-line all-or-nothing)', async () => {
    const plenty = await product(50);
    const scarce = await product(1, 100);
    const order = await settled(
      (
        await place(
          checkout([
            { sku: plenty, quantity: 5 },
            { sku: scarce, quantity: 2 },
          ]),
        )
      ).body.orderId,
    );
    expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'OUT_OF_STOCK', totalCents: 5 * 2599 + 2 * 100 });
    expect(await stock(plenty)).toMatchObject({ reserved: 0, available: 50 });
    expect(await stock(scarce)).toMatchObject({ reserved: 0, available: 1 });
  });

  it('releases the stock and refunds when shipping is unavailable (country AQ)', async () => {
    const kettle = await product(10);
    const placed = await place(checkout([{ sku: kettle, quantity: 3 }], { shippingAddress: { ...address, country: 'AQ' } }));
    const order = await settled(placed.body.orderId);
    expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'SHIPPING_UNAVAILABLE', shipmentId: null });
    expect(await sagaLog(order.orderId)).toEqual([
      'CHARGE_PAYMENT STARTED',
      'CHARGE_PAYMENT SUCCEEDED',
      'RESERVE_STOCK STARTED',
      'RESERVE_STOCK SUCCEEDED',
      'SCHEDULE_SHIPMENT STARTED',
      'SCHEDULE_SHIPMENT FAILED',
      'RELEASE_STOCK STARTED',
      'RELEASE_STOCK SUCCEEDED',
      'REFUND_PAYMENT STARTED',
      'REFUND_PAYMENT SUCCEEDED',
    ]);
    expect(await stock(kettle)).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
    expect((await http(store, 'GET', `/payments?orderId=${order.orderId}`)).body).toMatchObject([{ status: 'REFUNDED' }]);
    expect(await notified(order.orderId)).toEqual([{ kind: 'ORDER_CANCELLED', reason: 'SHIPPING_UNAVAILABLE', customerId: 'cust-42' }]);
  });

  it('never oversells: many parallel checkouts on scarce stock', async () => {
    const scarce = await product(5, 1000);
    const placed = await Promise.all(Array.from({ length: 30 }, () => place(checkout([{ sku: scarce, quantity: 1 }]))));
    expect(placed.every((response) => response.status === 202)).toBe(true);
    const orders = await Promise.all(placed.map((response) => settled(response.body.orderId)));
    expect(orders.filter((order) => order.status === 'CONFIRMED')).toHaveLength(5);
    expect(orders.filter((order) => order.failureReason === 'OUT_OF_STOCK')).toHaveLength(25);
    expect(await stock(scarce)).toMatchObject({ onHand: 5, reserved: 5, available: 0 });
    // Each of them is told exactly once how it ended (afterEach's invariants check every order too).
    for (const order of orders) {
      expect(await notified(order.orderId)).toEqual([
        order.status === 'CONFIRMED'
          ? { kind: 'ORDER_CONFIRMED', reason: null, customerId: 'cust-42' }
          : { kind: 'ORDER_CANCELLED', reason: 'OUT_OF_STOCK', customerId: 'cust-42' },
      ]);
    }
  });

  describe('with a short saga deadline', () => {
    let fast: TestTopology;
    beforeAll(async () => {
      // Short saga timings so that the timeout path takes a second, not half a minute.
      fast = await startTopology(topology, {
        CHECKOUT_STEP_TIMEOUT_MS: '300',
        CHECKOUT_DEADLINE_MS: '1500',
        CHECKOUT_RETRY_DELAY_MS: '20',
        REMOTE_CALL_TIMEOUT_MS: '1000',
      });
    }, 60_000);
    afterAll(async () => {
      await fast?.close();
    });
    afterEach(async () => {
      await waitForQuiet(fast.database.url);
      await assertStoreInvariants(fast.database.url);
    });

    it('times out a step that never answers and compensates what it did late (TIMED_OUT)', async () => {
      const kettle = await product(10, 2599, fast);
      // Hold the product row so the reservation blocks past the saga's deadline.
      const blocker = new pg.Client({ connectionString: fast.database.url });
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('SELECT * FROM inventory.products WHERE sku = $1 FOR UPDATE', [kettle]);
      const placed = await place(checkout([{ sku: kettle, quantity: 4 }]), {}, fast);
      await eventually(async () => expect(await sagaLog(placed.body.orderId, fast)).toContain('RESERVE_STOCK FAILED'), 10_000);
      // The late reservation now goes through; the compensation must give it back.
      await blocker.query('ROLLBACK');
      await blocker.end();
      const order = await settled(placed.body.orderId, fast);
      expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'TIMED_OUT' });
      expect(await sagaLog(order.orderId, fast)).toEqual([
        'CHARGE_PAYMENT STARTED',
        'CHARGE_PAYMENT SUCCEEDED',
        'RESERVE_STOCK STARTED',
        'RESERVE_STOCK FAILED',
        'RELEASE_STOCK STARTED',
        'RELEASE_STOCK SUCCEEDED',
        'REFUND_PAYMENT STARTED',
        'REFUND_PAYMENT SUCCEEDED',
      ]);
      await eventually(async () => expect(await stock(kettle, fast)).toMatchObject({ reserved: 0, available: 10 }));
      expect((await http(fast, 'GET', `/payments?orderId=${order.orderId}`)).body).toMatchObject([{ status: 'REFUNDED' }]);
      expect(await notified(order.orderId, fast)).toEqual([{ kind: 'ORDER_CANCELLED', reason: 'TIMED_OUT', customerId: 'cust-42' }]);
    }, 30_000);
  });

  describe('Idempotency-Key', () => {
    it('answers the same order for the same key and body, and creates nothing new', async () => {
      const kettle = await product(10);
      const body = checkout([{ sku: kettle, quantity: 1 }]);
      const first = await place(body, { 'Idempotency-Key': `key-${kettle}` });
      expect(first.status).toBe(202);
      const before = await countOrders();
      // The same body with its keys in another order is the same request.
      const reordered = { shippingAddress: address, paymentToken: 'tok_visa', items: [{ quantity: 1, sku: kettle }], customerId: 'cust-42' };
      const again = await place(reordered, { 'Idempotency-Key': `key-${kettle}` });
      expect([200, 202]).toContain(again.status);
      expect(again.body.orderId).toBe(first.body.orderId);
      expect(again.headers.get('location')).toBe(`/orders/${first.body.orderId}`);
      expect(await countOrders()).toBe(before);
      await settled(first.body.orderId);
      expect((await http(store, 'GET', `/payments?orderId=${first.body.orderId}`)).body).toHaveLength(1);
      expect(await notified(first.body.orderId)).toHaveLength(1);
    });

    it('refuses the same key with a different body (409) and changes nothing', async () => {
      const kettle = await product(10);
      const first = await place(checkout([{ sku: kettle, quantity: 1 }]), { 'Idempotency-Key': `key-${kettle}` });
      const before = await countOrders();
      const other = await place(checkout([{ sku: kettle, quantity: 2 }]), { 'Idempotency-Key': `key-${kettle}` });
      expect(other.status).toBe(409);
      expect(other.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(other.body).toMatchObject({ type: 'about:blank', title: 'Conflict', status: 409 });
      expect(await countOrders()).toBe(before);
      await settled(first.body.orderId);
    });

    it('creates one order for one key under concurrent retries', async () => {
      const kettle = await product(10);
      const body = checkout([{ sku: kettle, quantity: 1 }]);
      const responses = await Promise.all(Array.from({ length: 10 }, () => place(body, { 'Idempotency-Key': `race-${kettle}` })));
      expect(responses.every((response) => [200, 202].includes(response.status))).toBe(true);
      expect(new Set(responses.map((response) => response.body.orderId)).size).toBe(1);
      expect(responses.filter((response) => response.status === 202)).toHaveLength(1);
      await settled(responses[0].body.orderId);
      expect(await stock(kettle)).toMatchObject({ reserved: 1 });
    });

    it.each([
      ['empty', ''],
      ['over 200 characters', 'k'.repeat(201)],
    ])('refuses a key that is %s (400)', async (_case, key) => {
      const kettle = await product(10);
      const before = await countOrders();
      const response = await place(checkout([{ sku: kettle, quantity: 1 }]), { 'Idempotency-Key': key });
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([{ field: 'Idempotency-Key', message: 'must be 1-200 characters' }]);
      expect(await countOrders()).toBe(before);
    });
  });

  describe('bad input never reaches a module and changes nothing', () => {
    let kettle: string;
    beforeAll(async () => {
      kettle = await product(10);
    });

    const cases: Array<[string, (sku: string) => unknown, string]> = [
      ['no items', () => checkout([]), 'items'],
      ['101 items', () => checkout(Array.from({ length: 101 }, (_, i) => ({ sku: `S${i}`, quantity: 1 }))), 'items'],
      ['a quantity as a string', (s) => checkout([{ sku: s, quantity: '2' as unknown as number }]), 'items[0].quantity'],
      ['a fractional quantity', (s) => checkout([{ sku: s, quantity: 1.5 }]), 'items[0].quantity'],
      ['a zero quantity', (s) => checkout([{ sku: s, quantity: 0 }]), 'items[0].quantity'],
      ['a quantity over 1000', (s) => checkout([{ sku: s, quantity: 1001 }]), 'items[0].quantity'],
      [
        'the same sku twice',
        (s) =>
          checkout([
            { sku: s, quantity: 1 },
            { sku: s, quantity: 2 },
          ]),
        'items',
      ],
      ['an unknown property', (s) => checkout([{ sku: s, quantity: 1 }], { coupon: 'FREE' }), 'coupon'],
      ['an unknown property in an item', (s) => checkout([{ sku: s, quantity: 1, price: 1 } as never]), 'items[0].price'],
      [
        'an unknown property in the address',
        (s) => checkout([{ sku: s, quantity: 1 }], { shippingAddress: { ...address, floor: 3 } }),
        'shippingAddress.floor',
      ],
      ['a lower-case country', (s) => checkout([{ sku: s, quantity: 1 }], { shippingAddress: { ...address, country: 'no' } }), 'shippingAddress.country'],
      ['a three-letter country', (s) => checkout([{ sku: s, quantity: 1 }], { shippingAddress: { ...address, country: 'NOR' } }), 'shippingAddress.country'],
      ['a missing address', (s) => ({ customerId: 'c', items: [{ sku: s, quantity: 1 }], paymentToken: 'tok_visa' }), 'shippingAddress'],
      ['an address as an array', (s) => checkout([{ sku: s, quantity: 1 }], { shippingAddress: [address] }), 'shippingAddress'],
      ['an empty city', (s) => checkout([{ sku: s, quantity: 1 }], { shippingAddress: { ...address, city: '' } }), 'shippingAddress.city'],
      [
        'a postal code over 20 characters',
        (s) => checkout([{ sku: s, quantity: 1 }], { shippingAddress: { ...address, postalCode: '1'.repeat(21) } }),
        'shippingAddress.postalCode',
      ],
      ['a malformed payment token', (s) => checkout([{ sku: s, quantity: 1 }], { paymentToken: 'visa' }), 'paymentToken'],
      ['an empty customer id', (s) => checkout([{ sku: s, quantity: 1 }], { customerId: '' }), 'customerId'],
      ['a customer id over 100 characters', (s) => checkout([{ sku: s, quantity: 1 }], { customerId: 'c'.repeat(101) }), 'customerId'],
      ['a NUL character', (s) => checkout([{ sku: s, quantity: 1 }], { customerId: 'a\u0000b' }), 'customerId'],
      ['an item that is an array', (s) => checkout([[{ sku: s, quantity: 1 }]] as never), 'items'],
      ['a reserved property name', (s) => checkout([{ sku: s, quantity: 1 }], { extra: JSON.parse('{"constructor": 1}') }), 'extra.constructor'],
    ];

    it.each(cases)('answers 400 for %s', async (_case, body, field) => {
      const before = await countOrders();
      const response = await place(body(kettle));
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400 });
      expect(response.body.errors.map((error: { field: string }) => error.field)).toContain(field);
      expect(await countOrders()).toBe(before);
    });

    it('answers 400 for malformed JSON', async () => {
      const response = await place('{"customerId": "c", "items": [');
      expect(response.status).toBe(400);
      expect(response.body.detail).toBe('request body is not valid JSON');
    });

    it('answers 415 for a body that is not JSON', async () => {
      const response = await http(store, 'POST', '/orders', JSON.stringify(checkout([{ sku: kettle, quantity: 1 }])), {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(response.status).toBe(415);
    });

    it('answers 413 for a body over 1 MiB', async () => {
      const response = await place(checkout([{ sku: kettle, quantity: 1 }], { customerId: 'c'.repeat(1024 * 1024) }));
      expect(response.status).toBe(413);
    });

    it('answers 422 for a sku that does not exist, and creates nothing', async () => {
      const before = await countOrders();
      const response = await place(
        checkout([
          { sku: kettle, quantity: 1 },
          { sku: 'NO-SUCH-SKU', quantity: 1 },
        ]),
      );
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({
        type: 'about:blank',
        title: 'Unprocessable Entity',
        status: 422,
        errors: [{ field: 'items[1].sku', message: "sku 'NO-SUCH-SKU' does not exist" }],
      });
      expect(await countOrders()).toBe(before);
      expect(await stock(kettle)).toMatchObject({ reserved: 0 });
    });

    it('answers 404 for an unknown order and its saga, whatever the id looks like', async () => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
        expect((await http(store, 'GET', `/orders/${id}`)).status).toBe(404);
        expect((await http(store, 'GET', `/orders/${id}/saga`)).status).toBe(404);
      }
    });
  });
});
