import { randomUUID } from 'node:crypto';
import { type Inventory, InventoryContract, type ReservationView } from '../../src/modules/inventory/index.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

/**
 * Reserving and releasing stock have no HTTP route (only the checkout saga
 * does them), so they are called through the contract client of the running
 * store, exactly as the orders module will; what they did to the stock is
 * then read back over real HTTP.
 */
describe('Inventory reservations (store-api.md, the checkout saga)', () => {
  let store: TestStore;
  let inventory: Inventory;

  beforeAll(async () => {
    store = await startTestStore();
    inventory = store.application.app.get<Inventory>(InventoryContract.client, { strict: false });
  });
  afterAll(async () => {
    await store?.close();
  });

  let skuCount = 0;
  /** A fresh product, so that no test sees another's reservations. */
  async function product(stock: number, priceCents = 1000): Promise<string> {
    const sku = `RSV-${++skuCount}`;
    const created = await http(store, 'POST', '/inventory/products', { sku, name: `Product ${skuCount}`, priceCents, stock });
    expect(created.status).toBe(201);
    return sku;
  }

  async function stockOf(sku: string): Promise<{ onHand: number; reserved: number; available: number }> {
    const response = await http(store, 'GET', `/inventory/products/${sku}`);
    expect(response.status).toBe(200);
    const { onHand, reserved, available } = response.body;
    return { onHand, reserved, available };
  }

  const reserve = (lines: { sku: string; quantity: number }[], orderId: string = randomUUID()) => inventory.reserveStock({ orderId, lines });

  async function recordsFor(orderId: string): Promise<number> {
    const [{ count }] = await store.application.databases
      .get('inventory')
      .query('SELECT count(*)::int AS count FROM inventory.reservations WHERE order_id = $1', [orderId]);
    return count;
  }

  describe('reserveStock', () => {
    it('reserves every line and shows it in reserved and available', async () => {
      const [kettle, mug] = [await product(10), await product(4)];
      const orderId = randomUUID();
      const reservation = await reserve(
        [
          { sku: kettle, quantity: 3 },
          { sku: mug, quantity: 4 },
        ],
        orderId,
      );
      expect(reservation).toEqual({
        orderId,
        status: 'RESERVED',
        lines: [
          { sku: kettle, quantity: 3 },
          { sku: mug, quantity: 4 },
        ],
        shortages: [],
      });
      expect(await stockOf(kettle)).toEqual({ onHand: 10, reserved: 3, available: 7 });
      expect(await stockOf(mug)).toEqual({ onHand: 4, reserved: 4, available: 0 });
    });

    it('is all-or-nothing: one short line and nothing is reserved, REJECTED with the short skus', async () => {
      const [plenty, scarce, none] = [await product(10), await product(1), await product(0)];
      const reservation = await reserve([
        { sku: plenty, quantity: 5 },
        { sku: scarce, quantity: 2 },
        { sku: none, quantity: 1 },
      ]);
      expect(reservation).toMatchObject({ status: 'REJECTED', lines: [], shortages: [scarce, none].sort() });
      expect(await stockOf(plenty)).toEqual({ onHand: 10, reserved: 0, available: 10 });
      expect(await stockOf(scarce)).toEqual({ onHand: 1, reserved: 0, available: 1 });
    });

    it('counts stock already reserved by other orders as taken', async () => {
      const sku = await product(5);
      expect((await reserve([{ sku, quantity: 3 }])).status).toBe('RESERVED');
      expect(await reserve([{ sku, quantity: 3 }])).toMatchObject({ status: 'REJECTED', shortages: [sku] });
      expect((await reserve([{ sku, quantity: 2 }])).status).toBe('RESERVED');
      expect(await stockOf(sku)).toEqual({ onHand: 5, reserved: 5, available: 0 });
    });

    it('rejects an unknown sku as a shortage, reserving none of the other lines', async () => {
      const known = await product(10);
      const reservation = await reserve([
        { sku: known, quantity: 1 },
        { sku: 'NO-SUCH-SKU', quantity: 1 },
      ]);
      expect(reservation).toMatchObject({ status: 'REJECTED', lines: [], shortages: ['NO-SUCH-SKU'] });
      expect((await stockOf(known)).reserved).toBe(0);
    });

    it('names the short skus in code-point order, whatever the database collation', async () => {
      const reservation = await reserve([
        { sku: 'NO-SUCH_B', quantity: 1 },
        { sku: 'NO-SUCHA', quantity: 1 },
        { sku: 'NO-SUCH-B', quantity: 1 },
      ]);
      // '-' (0x2D) < 'A' (0x41) < '_' (0x5F); a linguistic collation would ignore the punctuation.
      expect(reservation.shortages).toEqual(['NO-SUCH-B', 'NO-SUCHA', 'NO-SUCH_B']);
    });

    it('is idempotent by orderId: a second call, even with other lines, answers the first record and changes nothing', async () => {
      const [a, b] = [await product(10), await product(10)];
      const orderId = randomUUID();
      const first = await reserve([{ sku: a, quantity: 2 }], orderId);
      const second = await reserve([{ sku: b, quantity: 5 }], orderId);
      expect(second).toEqual(first);
      expect((await stockOf(a)).reserved).toBe(2);
      expect((await stockOf(b)).reserved).toBe(0);
    });

    it('keeps a rejection: the same order reserving again after a restock is still REJECTED', async () => {
      const sku = await product(1);
      const orderId = randomUUID();
      const rejected = await reserve([{ sku, quantity: 2 }], orderId);
      expect(rejected.status).toBe('REJECTED');
      expect((await http(store, 'POST', `/inventory/products/${sku}/restock`, { quantity: 10 })).status).toBe(200);
      expect(await reserve([{ sku, quantity: 2 }], orderId)).toEqual(rejected);
      expect((await stockOf(sku)).reserved).toBe(0);
    });

    it('reserves an order once under 10 concurrent identical calls', async () => {
      const sku = await product(100);
      const orderId = randomUUID();
      const answers = await Promise.all(Array.from({ length: 10 }, () => reserve([{ sku, quantity: 7 }], orderId)));
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(answers[0].status).toBe('RESERVED');
      expect(await stockOf(sku)).toEqual({ onHand: 100, reserved: 7, available: 93 });
      expect(await recordsFor(orderId)).toBe(1);
    });

    it('never oversells: 50 concurrent orders of 1 unit for a stock of 10 reserve exactly 10', async () => {
      const sku = await product(10);
      const answers = await Promise.all(Array.from({ length: 50 }, () => reserve([{ sku, quantity: 1 }])));
      const reserved = answers.filter((answer) => answer.status === 'RESERVED');
      const rejected = answers.filter((answer) => answer.status === 'REJECTED');
      expect(reserved).toHaveLength(10);
      expect(rejected).toHaveLength(40);
      for (const answer of rejected) expect(answer).toMatchObject({ lines: [], shortages: [sku] });
      expect(await stockOf(sku)).toEqual({ onHand: 10, reserved: 10, available: 0 });
    });

    it('neither deadlocks nor oversells when concurrent orders name the same skus in opposite orders', async () => {
      const [x, y, z] = [await product(20), await product(20), await product(20)];
      const orders = [
        [x, y, z],
        [z, y, x],
        [y, x],
        [z, x],
      ];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 60 }, (_, index) => reserve(orders[index % orders.length].map((sku) => ({ sku, quantity: 1 })))),
      );
      // A deadlock would surface as a rejected call (Postgres aborts one of the transactions).
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
      const answers = outcomes.map((outcome) => (outcome as PromiseFulfilledResult<ReservationView>).value);
      for (const sku of [x, y, z]) {
        const held = answers
          .filter((answer) => answer.status === 'RESERVED')
          .flatMap((answer) => answer.lines)
          .filter((line) => line.sku === sku)
          .reduce((sum, line) => sum + line.quantity, 0);
        const stock = await stockOf(sku);
        expect(stock.reserved).toBe(held);
        expect(stock.reserved).toBeLessThanOrEqual(20);
      }
      // 60 orders wanting 20 units of each sku: some of every kind must have been turned away, none half-served.
      expect(answers.filter((answer) => answer.status === 'REJECTED').length).toBeGreaterThan(0);
      for (const answer of answers) {
        if (answer.status === 'REJECTED') expect(answer.lines).toEqual([]);
      }
    });
  });

  describe('releaseStock', () => {
    it('gives the stock back and answers RELEASED with what was held', async () => {
      const [a, b] = [await product(10), await product(10)];
      const reserved = await reserve([
        { sku: a, quantity: 4 },
        { sku: b, quantity: 1 },
      ]);
      expect((await stockOf(a)).reserved).toBe(4);
      const released = await inventory.releaseStock({ orderId: reserved.orderId });
      expect(released).toEqual({ ...reserved, status: 'RELEASED' });
      expect(await stockOf(a)).toEqual({ onHand: 10, reserved: 0, available: 10 });
      expect(await stockOf(b)).toEqual({ onHand: 10, reserved: 0, available: 10 });
    });

    it('releases once: again, and concurrently, answers RELEASED and gives nothing more back', async () => {
      const sku = await product(10);
      await reserve([{ sku, quantity: 6 }]); // another order's hold, which must survive
      const reserved = await reserve([{ sku, quantity: 3 }]);
      const first = await inventory.releaseStock({ orderId: reserved.orderId });
      const again = await Promise.all(Array.from({ length: 5 }, () => inventory.releaseStock({ orderId: reserved.orderId })));
      for (const answer of again) expect(answer).toEqual(first);
      expect(await stockOf(sku)).toEqual({ onHand: 10, reserved: 6, available: 4 });
    });

    it('gives back once under 10 concurrent releases of a reserved order', async () => {
      const sku = await product(10);
      const reserved = await reserve([{ sku, quantity: 5 }]);
      const answers = await Promise.all(Array.from({ length: 10 }, () => inventory.releaseStock({ orderId: reserved.orderId })));
      for (const answer of answers) expect(answer).toEqual({ ...reserved, status: 'RELEASED' });
      expect((await stockOf(sku)).reserved).toBe(0);
    });

    it('answers a rejected reservation unchanged', async () => {
      const sku = await product(1);
      const rejected = await reserve([{ sku, quantity: 5 }]);
      expect(await inventory.releaseStock({ orderId: rejected.orderId })).toEqual(rejected);
      expect((await stockOf(sku)).reserved).toBe(0);
    });

    it('leaves a tombstone when nothing was reserved, so that a late reservation reserves nothing', async () => {
      const sku = await product(10);
      const orderId = randomUUID();
      const tombstone = await inventory.releaseStock({ orderId });
      expect(tombstone).toEqual({ orderId, status: 'RELEASED', lines: [], shortages: [] });
      expect(await inventory.releaseStock({ orderId })).toEqual(tombstone);
      // The reservation whose caller timed out arrives after the compensation.
      expect(await reserve([{ sku, quantity: 2 }], orderId)).toEqual(tombstone);
      expect(await stockOf(sku)).toEqual({ onHand: 10, reserved: 0, available: 10 });
    });

    it('leaves nothing reserved when each order is reserved and released at the same time', async () => {
      const sku = await product(1000);
      const orderIds = Array.from({ length: 20 }, () => randomUUID());
      await Promise.all(orderIds.flatMap((orderId) => [reserve([{ sku, quantity: 3 }], orderId), inventory.releaseStock({ orderId })]));
      // Whichever arrived first, every order ends RELEASED: released after being reserved, or a tombstone.
      for (const orderId of orderIds) {
        const record = await inventory.releaseStock({ orderId });
        expect(record.status).toBe('RELEASED');
        expect([0, 1]).toContain(record.lines.length);
      }
      expect(await stockOf(sku)).toEqual({ onHand: 1000, reserved: 0, available: 1000 });
    });
  });

  describe('commitStock (the delivery workflow: a reservation becomes a sale)', () => {
    it('takes the reserved quantities out of onHand and reserved, and answers COMMITTED with what was held', async () => {
      const [a, b] = [await product(10), await product(5)];
      await reserve([{ sku: a, quantity: 2 }]); // another order's hold, which must survive
      const reserved = await reserve([
        { sku: a, quantity: 3 },
        { sku: b, quantity: 5 },
      ]);
      const committed = await inventory.commitStock({ orderId: reserved.orderId });
      expect(committed).toEqual({ ...reserved, status: 'COMMITTED' });
      expect(await stockOf(a)).toEqual({ onHand: 7, reserved: 2, available: 5 });
      expect(await stockOf(b)).toEqual({ onHand: 0, reserved: 0, available: 0 });
    });

    it('commits once: again, and under 10 concurrent commits, answers COMMITTED and takes nothing more', async () => {
      const sku = await product(10);
      const reserved = await reserve([{ sku, quantity: 4 }]);
      const first = await inventory.commitStock({ orderId: reserved.orderId });
      const again = await Promise.all(Array.from({ length: 10 }, () => inventory.commitStock({ orderId: reserved.orderId })));
      for (const answer of again) expect(answer).toEqual(first);
      expect(await stockOf(sku)).toEqual({ onHand: 6, reserved: 0, available: 6 });
    });

    it('takes once under 10 concurrent commits of a reserved order', async () => {
      const sku = await product(10);
      const reserved = await reserve([{ sku, quantity: 4 }]);
      const answers = await Promise.all(Array.from({ length: 10 }, () => inventory.commitStock({ orderId: reserved.orderId })));
      for (const answer of answers) expect(answer).toEqual({ ...reserved, status: 'COMMITTED' });
      expect(await stockOf(sku)).toEqual({ onHand: 6, reserved: 0, available: 6 });
    });

    it('keeps a commit: a release after it, and a reservation after it, answer COMMITTED and change nothing', async () => {
      const sku = await product(10);
      const reserved = await reserve([{ sku, quantity: 4 }]);
      const committed = await inventory.commitStock({ orderId: reserved.orderId });
      expect(await inventory.releaseStock({ orderId: reserved.orderId })).toEqual(committed);
      expect(await reserve([{ sku, quantity: 1 }], reserved.orderId)).toEqual(committed);
      expect(await stockOf(sku)).toEqual({ onHand: 6, reserved: 0, available: 6 });
    });

    it.each([
      ['released', async (sku: string) => (await inventory.releaseStock({ orderId: (await reserve([{ sku, quantity: 2 }])).orderId })).orderId],
      ['rejected', async (sku: string) => (await reserve([{ sku, quantity: 99 }])).orderId],
      ['released before it was ever reserved (a tombstone)', async () => (await inventory.releaseStock({ orderId: randomUUID() })).orderId],
    ])('refuses with CONFLICT to commit a %s reservation, changing nothing', async (_case, make) => {
      const sku = await product(10);
      const orderId = await make(sku);
      const before = await inventory.releaseStock({ orderId });
      await expect(inventory.commitStock({ orderId })).rejects.toMatchObject({
        name: 'ModuleError',
        code: 'CONFLICT',
        module: 'inventory',
        message: `the reservation of order ${orderId} is ${before.status} and cannot be committed`,
      });
      expect(await inventory.releaseStock({ orderId })).toEqual(before);
      expect(await stockOf(sku)).toEqual({ onHand: 10, reserved: 0, available: 10 });
    });

    it('answers NOT_FOUND for an order with no reservation, and records nothing', async () => {
      const orderId = randomUUID();
      await expect(inventory.commitStock({ orderId })).rejects.toMatchObject({
        name: 'ModuleError',
        code: 'NOT_FOUND',
        module: 'inventory',
        message: `order ${orderId} has no reservation`,
      });
      expect(await recordsFor(orderId)).toBe(0);
    });

    it('neither deadlocks nor sells twice when orders sharing skus are committed and released at once', async () => {
      const [a, b] = [await product(100), await product(100)];
      const orders = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          reserve(
            i % 2 === 0
              ? [
                  { sku: a, quantity: 1 },
                  { sku: b, quantity: 2 },
                ]
              : [
                  { sku: b, quantity: 2 },
                  { sku: a, quantity: 1 },
                ],
          ),
        ),
      );
      // Each order committed twice and released once, all at the same time: per order, one of commit or release wins.
      const outcomes = await Promise.allSettled(
        orders.flatMap(({ orderId }) => [inventory.commitStock({ orderId }), inventory.releaseStock({ orderId }), inventory.commitStock({ orderId })]),
      );
      expect(outcomes.filter((o) => o.status === 'rejected').every((o) => o.reason.code === 'CONFLICT')).toBe(true);
      const final = await Promise.all(orders.map(({ orderId }) => inventory.releaseStock({ orderId })));
      const sold = final.filter((record) => record.status === 'COMMITTED').length;
      expect(final.every((record) => ['COMMITTED', 'RELEASED'].includes(record.status))).toBe(true);
      expect(await stockOf(a)).toEqual({ onHand: 100 - sold, reserved: 0, available: 100 - sold });
      expect(await stockOf(b)).toEqual({ onHand: 100 - 2 * sold, reserved: 0, available: 100 - 2 * sold });
    });

    it('answers INVALID for an order id that is not a uuid', async () => {
      await expect(inventory.commitStock({ orderId: 'nope' })).rejects.toMatchObject({
        code: 'INVALID',
        errors: expect.arrayContaining([expect.objectContaining({ field: 'orderId' })]),
      });
    });
  });

  describe('getPrices', () => {
    it('answers the prices of the skus that exist, in the order asked, each once', async () => {
      const [a, b] = [await product(1, 2599), await product(1, 0)];
      expect(await inventory.getPrices({ skus: [b, 'NO-SUCH-SKU', a, b] })).toEqual([
        { sku: b, priceCents: 0 },
        { sku: a, priceCents: 2599 },
      ]);
    });

    it('answers an empty list when no sku exists', async () => {
      expect(await inventory.getPrices({ skus: ['NOPE', 'lower-case'] })).toEqual([]);
    });

    it.each([
      ['an empty list', { skus: [] }, 'skus'],
      ['101 skus', { skus: Array.from({ length: 101 }, (_, index) => `SKU-${index}`) }, 'skus'],
      ['a list that is a string', { skus: 'SKU-1' }, 'skus'],
      ['a sku that is a number', { skus: [42] }, 'skus'],
      ['an unknown property', { skus: ['SKU-1'], currency: 'NOK' }, 'currency'],
    ])('refuses %s with INVALID', async (_case, input, field) => {
      await expect(inventory.getPrices(input as never)).rejects.toMatchObject({
        name: 'ModuleError',
        code: 'INVALID',
        module: 'inventory',
        errors: expect.arrayContaining([expect.objectContaining({ field })]),
      });
    });
  });

  describe('invalid inputs', () => {
    it('refuses lines naming the same sku twice, naming each repeat, and stores nothing', async () => {
      const [a, b] = [await product(10), await product(10)];
      const orderId = randomUUID();
      const lines = [
        { sku: a, quantity: 1 },
        { sku: b, quantity: 1 },
        { sku: a, quantity: 2 },
      ];
      await expect(inventory.reserveStock({ orderId, lines })).rejects.toMatchObject({
        name: 'ModuleError',
        code: 'INVALID',
        module: 'inventory',
        message: 'lines[2].sku duplicates lines[0].sku',
        errors: [{ field: 'lines[2].sku', message: 'duplicates lines[0].sku' }],
      });
      expect(await recordsFor(orderId)).toBe(0);
      expect((await stockOf(a)).reserved).toBe(0);
      // Refused, not recorded: the corrected call for the same order still reserves.
      expect((await reserve([{ sku: a, quantity: 3 }], orderId)).status).toBe('RESERVED');
    });

    const line = { sku: 'SKU-1', quantity: 1 };
    it.each([
      ['an order id that is not a uuid', { orderId: 'order-1', lines: [line] }, 'orderId'],
      ['no lines', { lines: [] }, 'lines'],
      ['lines that are not a list', { lines: line }, 'lines'],
      ['101 lines', { lines: Array.from({ length: 101 }, (_, index) => ({ sku: `SKU-${index}`, quantity: 1 })) }, 'lines'],
      ['a line that is not an object', { lines: ['SKU-1'] }, 'lines[0]'],
      ['a lower-case sku', { lines: [{ ...line, sku: 'sku-1' }] }, 'lines[0].sku'],
      ['a quantity of 0', { lines: [{ ...line, quantity: 0 }] }, 'lines[0].quantity'],
      ['a quantity over 1000', { lines: [{ ...line, quantity: 1001 }] }, 'lines[0].quantity'],
      ['a fractional quantity', { lines: [{ ...line, quantity: 1.5 }] }, 'lines[0].quantity'],
      ['a quantity as a string', { lines: [{ ...line, quantity: '2' }] }, 'lines[0].quantity'],
      ['an unknown line property', { lines: [{ ...line, priceCents: 1 }] }, 'lines[0].priceCents'],
      ['an unknown property', { lines: [line], note: 'x' }, 'note'],
    ])('refuses %s with INVALID and the field, storing nothing', async (_case, overrides, field) => {
      const orderId = randomUUID();
      const failure = await inventory.reserveStock({ orderId, ...overrides } as never).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ name: 'ModuleError', code: 'INVALID', module: 'inventory' });
      expect((failure as { errors: { field: string }[] }).errors.map((error) => error.field)).toContain(field);
      expect(await recordsFor(orderId)).toBe(0);
    });

    it('refuses a release for an order id that is not a uuid', async () => {
      await expect(inventory.releaseStock({ orderId: 'nope' })).rejects.toMatchObject({
        code: 'INVALID',
        errors: expect.arrayContaining([expect.objectContaining({ field: 'orderId' })]),
      });
    });
  });

  it('is not exposed over HTTP', async () => {
    for (const path of ['/inventory/reservations', '/inventory/products/SKU-1/reserve']) {
      expect((await http(store, 'POST', path, { orderId: randomUUID(), lines: [{ sku: 'SKU-1', quantity: 1 }] })).status).toBe(404);
    }
  });
});
