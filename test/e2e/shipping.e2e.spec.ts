import { randomUUID } from 'node:crypto';
import { type Shipping, ShippingContract, type ShipmentView } from '../../src/modules/shipping/index.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

/**
 * Scheduling and cancelling have no HTTP route (only the checkout saga does
 * them), so they are called through the contract client of the running store,
 * exactly as the orders module will; what they did is then read back over real HTTP.
 */
describe('Shipping (store-api.md)', () => {
  let store: TestStore;
  let shipping: Shipping;

  beforeAll(async () => {
    store = await startTestStore();
    shipping = store.application.app.get<Shipping>(ShippingContract.client, { strict: false });
  });
  afterAll(async () => {
    await store?.close();
  });

  const oslo = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };

  const schedule = (orderId: string = randomUUID(), address: object = oslo) => shipping.scheduleShipment({ orderId, address } as never);

  async function rowsFor(orderId: string): Promise<number> {
    const [{ count }] = await store.application.databases
      .get('shipping')
      .query("SELECT count(*)::int AS count FROM shipping.shipments WHERE order_id = $1 AND status <> 'VOIDED'", [orderId]);
    return count;
  }

  async function voidsFor(orderId: string): Promise<number> {
    const [{ count }] = await store.application.databases
      .get('shipping')
      .query("SELECT count(*)::int AS count FROM shipping.shipments WHERE order_id = $1 AND status = 'VOIDED'", [orderId]);
    return count;
  }

  async function failureOf(call: Promise<unknown>): Promise<any> {
    return call.then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  describe('scheduleShipment', () => {
    it('schedules a delivery and shows it over HTTP', async () => {
      const orderId = randomUUID();
      const shipment = await schedule(orderId);
      expect(shipment).toEqual({
        shipmentId: expect.any(String),
        orderId,
        status: 'SCHEDULED',
        address: oslo,
        createdAt: expect.any(String),
      });
      const fetched = await http(store, 'GET', `/shipments/${shipment.shipmentId}`);
      expect(fetched.status).toBe(200);
      expect(fetched.headers.get('content-type')).toMatch(/^application\/json/);
      expect(fetched.body).toEqual(shipment);
    });

    it('refuses Antarctica with UNPROCESSABLE and stores nothing', async () => {
      const orderId = randomUUID();
      const failure = await failureOf(schedule(orderId, { ...oslo, country: 'AQ' }));
      expect(failure).toMatchObject({
        name: 'ModuleError',
        code: 'UNPROCESSABLE',
        module: 'shipping',
        message: 'shipping is unavailable to country AQ',
      });
      expect(await rowsFor(orderId)).toBe(0);
      expect((await http(store, 'GET', `/shipments?orderId=${orderId}`)).body).toEqual([]);
    });

    it('schedules an order once: a second schedule answers the first shipment unchanged', async () => {
      const orderId = randomUUID();
      const first = await schedule(orderId);
      const second = await schedule(orderId, { ...oslo, city: 'Bergen', postalCode: '5003' });
      expect(second).toEqual(first);
      expect(await rowsFor(orderId)).toBe(1);
    });

    it('schedules an order once under 10 concurrent schedules', async () => {
      const orderId = randomUUID();
      const answers = await Promise.all(Array.from({ length: 10 }, () => schedule(orderId)));
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(await rowsFor(orderId)).toBe(1);
    });

    it('keeps an address at its limits exactly as given, whatever its characters', async () => {
      const address = {
        // 200 characters to the contract, 400 code points to Postgres: the column must not be the tighter limit.
        name: '\u2764\uFE0F'.repeat(200),
        line1: 'Ł'.repeat(200),
        city: '東'.repeat(100),
        postalCode: '9'.repeat(20),
        country: 'JP',
      };
      const shipment = await schedule(randomUUID(), address);
      expect(shipment.address).toEqual(address);
      expect((await http(store, 'GET', `/shipments/${shipment.shipmentId}`)).body.address).toEqual(address);
    });

    it.each([
      ['a missing address', { address: undefined }, 'address'],
      ['an address that is a string', { address: 'Oslo' }, 'address'],
      ['an address that is an array', { address: [oslo] }, 'address'],
      ['a lower-case country', { address: { ...oslo, country: 'no' } }, 'address.country'],
      ['a three-letter country', { address: { ...oslo, country: 'NOR' } }, 'address.country'],
      ['a missing country', { address: { ...oslo, country: undefined } }, 'address.country'],
      ['an empty name', { address: { ...oslo, name: '' } }, 'address.name'],
      ['a 201-character name', { address: { ...oslo, name: 'a'.repeat(201) } }, 'address.name'],
      ['a NUL in the name', { address: { ...oslo, name: 'A\u0000da' } }, 'address.name'],
      ['an empty line1', { address: { ...oslo, line1: '' } }, 'address.line1'],
      ['a 101-character city', { address: { ...oslo, city: 'c'.repeat(101) } }, 'address.city'],
      ['a 21-character postal code', { address: { ...oslo, postalCode: '1'.repeat(21) } }, 'address.postalCode'],
      ['a postal code as a number', { address: { ...oslo, postalCode: 150 } }, 'address.postalCode'],
      ['an unknown address property', { address: { ...oslo, floor: 3 } }, 'address.floor'],
      ['an unknown property', { priority: true }, 'priority'],
      ['an order id that is not a uuid', { orderId: 'order-1' }, 'orderId'],
    ])('refuses %s with INVALID and the field, storing nothing', async (_case, overrides, field) => {
      const orderId = randomUUID();
      const failure = await failureOf(shipping.scheduleShipment({ orderId, address: oslo, ...overrides } as never));
      expect(failure).toMatchObject({ name: 'ModuleError', code: 'INVALID', module: 'shipping' });
      expect((failure.errors as { field: string }[]).map((error) => error.field)).toContain(field);
      expect(await rowsFor(orderId)).toBe(0);
    });

    it('is not exposed over HTTP', async () => {
      expect((await http(store, 'POST', '/shipments', { orderId: randomUUID(), address: oslo })).status).toBe(404);
    });
  });

  describe('cancelShipment', () => {
    it('cancels a scheduled shipment and shows it over HTTP', async () => {
      const scheduled = await schedule();
      const cancelled = await shipping.cancelShipment({ orderId: scheduled.orderId });
      expect(cancelled).toEqual({ ...scheduled, status: 'CANCELLED' });
      expect((await http(store, 'GET', `/shipments/${scheduled.shipmentId}`)).body).toEqual(cancelled);
    });

    it('answers a cancelled shipment unchanged when cancelled again', async () => {
      const scheduled = await schedule();
      const first = await shipping.cancelShipment({ orderId: scheduled.orderId });
      const [second, ...concurrent] = await Promise.all(Array.from({ length: 5 }, () => shipping.cancelShipment({ orderId: scheduled.orderId })));
      expect(second).toEqual(first);
      for (const answer of concurrent) expect(answer).toEqual(first);
    });

    it('keeps a cancelled order cancelled: scheduling again answers the cancelled shipment', async () => {
      const scheduled = await schedule();
      const cancelled = await shipping.cancelShipment({ orderId: scheduled.orderId });
      expect(await schedule(scheduled.orderId)).toEqual(cancelled);
    });

    it('answers NOT_FOUND for an order with no shipment', async () => {
      const orderId = randomUUID();
      await expect(shipping.cancelShipment({ orderId })).rejects.toMatchObject({
        name: 'ModuleError',
        code: 'NOT_FOUND',
        module: 'shipping',
        message: `order '${orderId}' has no shipment`,
      });
    });

    it('voids an order cancelled before it was scheduled: a late schedule is refused with CONFLICT and schedules nothing', async () => {
      const orderId = randomUUID();
      await expect(shipping.cancelShipment({ orderId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await voidsFor(orderId)).toBe(1);
      // The schedule whose caller timed out arrives after the compensation; so does its retry.
      for (let attempt = 0; attempt < 2; attempt++) {
        await expect(schedule(orderId)).rejects.toMatchObject({
          name: 'ModuleError',
          code: 'CONFLICT',
          module: 'shipping',
          message: `order ${orderId} was voided and can no longer be scheduled`,
        });
      }
      // An unserved country is still refused as such, before the void is looked at.
      await expect(schedule(orderId, { ...oslo, country: 'AQ' })).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
      expect(await rowsFor(orderId)).toBe(0);
      expect((await http(store, 'GET', `/shipments?orderId=${orderId}`)).body).toEqual([]);
      // Cancelling a voided order again is the same answer and the same one void.
      await expect(shipping.cancelShipment({ orderId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await voidsFor(orderId)).toBe(1);
    });

    it('never leaves a scheduled shipment when schedule and cancel of an order race (20 orders)', async () => {
      const orderIds = Array.from({ length: 20 }, () => randomUUID());
      // Fired in either order: which reaches the database first is up to the race.
      const race = (orderId: string, cancelFirst: boolean) => {
        const early = cancelFirst ? shipping.cancelShipment({ orderId }) : undefined;
        const scheduled = schedule(orderId);
        return Promise.allSettled([scheduled, early ?? shipping.cancelShipment({ orderId })] as const);
      };
      const outcomes = await Promise.all(orderIds.map((orderId, index) => race(orderId, index % 2 === 1)));
      for (const [index, [scheduled, cancelled]] of outcomes.entries()) {
        const orderId = orderIds[index];
        const listed = (await http(store, 'GET', `/shipments?orderId=${orderId}`)).body as ShipmentView[];
        if (scheduled.status === 'fulfilled') {
          // The schedule came first, and the cancel cancelled it.
          expect(scheduled.value.status).toBe('SCHEDULED');
          expect(cancelled).toMatchObject({ status: 'fulfilled', value: { shipmentId: scheduled.value.shipmentId, status: 'CANCELLED' } });
          expect(listed).toEqual([(cancelled as PromiseFulfilledResult<ShipmentView>).value]);
        } else {
          // The cancel came first: it found nothing and voided the order, so the schedule stored nothing.
          expect(scheduled.reason).toMatchObject({ code: 'CONFLICT' });
          expect(cancelled).toMatchObject({ status: 'rejected', reason: { code: 'NOT_FOUND' } });
          expect(listed).toEqual([]);
        }
      }
    });

    it('answers INVALID for an order id that is not a uuid', async () => {
      await expect(shipping.cancelShipment({ orderId: 'nope' })).rejects.toMatchObject({
        code: 'INVALID',
        errors: expect.arrayContaining([expect.objectContaining({ field: 'orderId' })]),
      });
    });
  });

  describe('GET /shipments/:id', () => {
    it.each([
      ['an unknown id', () => randomUUID()],
      ['a malformed id', () => 'not-a-uuid'],
      ['a long id', () => 'x'.repeat(500)],
    ])('answers 404 problem+json for %s', async (_case, id) => {
      const response = await http(store, 'GET', `/shipments/${id()}`);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ type: 'about:blank', title: 'Not Found', status: 404 });
    });
  });

  describe('GET /shipments?orderId=', () => {
    it("lists an order's shipments", async () => {
      const shipment = await schedule();
      const response = await http(store, 'GET', `/shipments?orderId=${shipment.orderId}`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual([shipment]);
    });

    it('answers an empty list for an unknown or malformed order id', async () => {
      for (const orderId of [randomUUID(), 'not-a-uuid', '']) {
        const response = await http(store, 'GET', `/shipments?orderId=${encodeURIComponent(orderId)}`);
        expect(response.status).toBe(200);
        expect(response.body).toEqual([]);
      }
    });

    it('answers 400 problem+json naming orderId when it is missing', async () => {
      const response = await http(store, 'GET', '/shipments');
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400 });
      expect(response.body.errors.map((error: { field: string }) => error.field)).toContain('orderId');
    });
  });

  it('answers every timestamp as an ISO-8601 string, in process and over HTTP', async () => {
    const scheduled = await schedule();
    const cancelled = await shipping.cancelShipment({ orderId: scheduled.orderId });
    const fetched = (await http(store, 'GET', `/shipments/${scheduled.shipmentId}`)).body as ShipmentView;
    const [listed] = (await http(store, 'GET', `/shipments?orderId=${scheduled.orderId}`)).body as ShipmentView[];
    for (const view of [scheduled, cancelled, fetched, listed, await shipping.getShipment({ shipmentId: scheduled.shipmentId })]) {
      expect(typeof view.createdAt).toBe('string');
      expect(new Date(view.createdAt).toISOString()).toBe(view.createdAt);
    }
  });
});
