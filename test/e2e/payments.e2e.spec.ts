import { randomUUID } from 'node:crypto';
import { type Payments, PaymentsContract, type PaymentView } from '../../src/modules/payments/index.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

/**
 * Charging and refunding have no HTTP route (only the checkout saga may move
 * money), so they are called through the contract client of the running
 * store, exactly as the orders module will; what they did is then read back
 * over real HTTP.
 */
describe('Payments (store-api.md)', () => {
  let store: TestStore;
  let payments: Payments;

  beforeAll(async () => {
    store = await startTestStore();
    payments = store.application.app.get<Payments>(PaymentsContract.client, { strict: false });
  });
  afterAll(async () => {
    await store?.close();
  });

  const charge = (overrides: Partial<{ orderId: string; amountCents: number; paymentToken: string }> = {}) =>
    payments.chargePayment({ orderId: randomUUID(), amountCents: 5198, paymentToken: 'tok_visa', ...overrides });

  async function rowsFor(orderId: string): Promise<number> {
    const [{ count }] = await store.application.databases
      .get('payments')
      .query("SELECT count(*)::int AS count FROM payments.payments WHERE order_id = $1 AND status <> 'VOIDED'", [orderId]);
    return count;
  }

  async function voidsFor(orderId: string): Promise<number> {
    const [{ count }] = await store.application.databases
      .get('payments')
      .query("SELECT count(*)::int AS count FROM payments.payments WHERE order_id = $1 AND status = 'VOIDED'", [orderId]);
    return count;
  }

  function expectIsoTimestamps(view: PaymentView): void {
    for (const value of [view.createdAt, view.updatedAt]) {
      expect(typeof value).toBe('string');
      expect(new Date(value).toISOString()).toBe(value);
    }
  }

  describe('chargePayment', () => {
    it('captures an approved token and shows the payment over HTTP', async () => {
      const orderId = randomUUID();
      const payment = await charge({ orderId });
      expect(payment).toEqual({
        paymentId: expect.any(String),
        orderId,
        amountCents: 5198,
        status: 'CAPTURED',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const fetched = await http(store, 'GET', `/payments/${payment.paymentId}`);
      expect(fetched.status).toBe(200);
      expect(fetched.headers.get('content-type')).toMatch(/^application\/json/);
      expect(fetched.body).toEqual(payment);
    });

    it('records a declined token as DECLINED: an answer, not an error', async () => {
      const payment = await charge({ paymentToken: 'tok_declined' });
      expect(payment.status).toBe('DECLINED');
      expect((await http(store, 'GET', `/payments/${payment.paymentId}`)).body).toEqual(payment);
    });

    it('charges an order once: a second charge answers the first payment unchanged', async () => {
      const orderId = randomUUID();
      const first = await charge({ orderId });
      const second = await charge({ orderId, amountCents: 1, paymentToken: 'tok_declined' });
      expect(second).toEqual(first);
      expect(await rowsFor(orderId)).toBe(1);
    });

    it('charges an order once under 10 concurrent charges', async () => {
      const orderId = randomUUID();
      const answers = await Promise.all(Array.from({ length: 10 }, () => charge({ orderId })));
      expect(new Set(answers.map((answer) => answer.paymentId)).size).toBe(1);
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(await rowsFor(orderId)).toBe(1);
      const listed = await http(store, 'GET', `/payments?orderId=${orderId}`);
      expect(listed.body).toEqual([answers[0]]);
    });

    it('accepts the bounds of the amount: 0 and 2000000000', async () => {
      expect((await charge({ amountCents: 0 })).amountCents).toBe(0);
      expect((await charge({ amountCents: 2_000_000_000 })).amountCents).toBe(2_000_000_000);
    });

    it.each([
      ['a token without the tok_ prefix', { paymentToken: 'visa' }, 'paymentToken'],
      ['a token with capitals', { paymentToken: 'tok_VISA' }, 'paymentToken'],
      ['an empty token body', { paymentToken: 'tok_' }, 'paymentToken'],
      ['a token over 60 characters', { paymentToken: `tok_${'a'.repeat(61)}` }, 'paymentToken'],
      ['a token that is not a string', { paymentToken: 42 }, 'paymentToken'],
      ['a negative amount', { amountCents: -1 }, 'amountCents'],
      ['a fractional amount', { amountCents: 10.5 }, 'amountCents'],
      ['an amount as a string', { amountCents: '5198' }, 'amountCents'],
      ['an amount over 2000000000', { amountCents: 2_000_000_001 }, 'amountCents'],
      ['an order id that is not a uuid', { orderId: 'order-1' }, 'orderId'],
      ['an unknown property', { currency: 'NOK' }, 'currency'],
    ])('refuses %s with INVALID and the field, storing nothing', async (_case, overrides, field) => {
      const orderId = randomUUID();
      const input = { orderId, amountCents: 5198, paymentToken: 'tok_visa', ...overrides } as never;
      const failure = await payments.chargePayment(input).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ name: 'ModuleError', code: 'INVALID', module: 'payments' });
      expect((failure as { errors: { field: string }[] }).errors.map((error) => error.field)).toContain(field);
      expect(await rowsFor(orderId)).toBe(0);
    });

    it('refuses a charge with a missing field', async () => {
      await expect(payments.chargePayment({ orderId: randomUUID(), amountCents: 1 } as never)).rejects.toMatchObject({
        code: 'INVALID',
        errors: expect.arrayContaining([expect.objectContaining({ field: 'paymentToken' })]),
      });
    });

    it('is not exposed over HTTP', async () => {
      const response = await http(store, 'POST', '/payments', { orderId: randomUUID(), amountCents: 1, paymentToken: 'tok_visa' });
      expect(response.status).toBe(404);
    });
  });

  describe('refundPayment', () => {
    it('refunds a captured payment and shows it over HTTP', async () => {
      const captured = await charge();
      const refunded = await payments.refundPayment({ orderId: captured.orderId });
      expect(refunded).toMatchObject({ paymentId: captured.paymentId, status: 'REFUNDED', amountCents: 5198, createdAt: captured.createdAt });
      expect(Date.parse(refunded.updatedAt)).toBeGreaterThanOrEqual(Date.parse(captured.updatedAt));
      expect((await http(store, 'GET', `/payments/${captured.paymentId}`)).body).toEqual(refunded);
    });

    it('refunds at most once: a second refund answers the refund unchanged', async () => {
      const captured = await charge();
      const first = await payments.refundPayment({ orderId: captured.orderId });
      const second = await payments.refundPayment({ orderId: captured.orderId });
      expect(second).toEqual(first);
    });

    it('refunds at most once under 10 concurrent refunds', async () => {
      const captured = await charge();
      const answers = await Promise.all(Array.from({ length: 10 }, () => payments.refundPayment({ orderId: captured.orderId })));
      // One transition: every answer carries the same updatedAt, that of the one UPDATE that applied.
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(answers[0].status).toBe('REFUNDED');
    });

    it('answers a declined payment unchanged: nothing was taken, nothing is given back', async () => {
      const declined = await charge({ paymentToken: 'tok_declined' });
      expect(await payments.refundPayment({ orderId: declined.orderId })).toEqual(declined);
    });

    it('answers NOT_FOUND for an order that was never charged', async () => {
      const orderId = randomUUID();
      await expect(payments.refundPayment({ orderId })).rejects.toMatchObject({
        name: 'ModuleError',
        code: 'NOT_FOUND',
        module: 'payments',
        message: `order '${orderId}' has no payment`,
      });
    });

    it('keeps a refunded order refunded: charging again answers the refunded payment', async () => {
      const captured = await charge();
      const refunded = await payments.refundPayment({ orderId: captured.orderId });
      expect(await charge({ orderId: captured.orderId })).toEqual(refunded);
      expect(await rowsFor(captured.orderId)).toBe(1);
    });

    it('voids an order refunded before it was charged: a late charge is refused with CONFLICT and takes nothing', async () => {
      const orderId = randomUUID();
      await expect(payments.refundPayment({ orderId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await voidsFor(orderId)).toBe(1);
      // The charge whose caller timed out arrives after the compensation; so does its retry.
      for (const paymentToken of ['tok_visa', 'tok_declined']) {
        await expect(charge({ orderId, paymentToken })).rejects.toMatchObject({
          name: 'ModuleError',
          code: 'CONFLICT',
          module: 'payments',
          message: `order ${orderId} was voided and can no longer be charged`,
        });
      }
      expect(await rowsFor(orderId)).toBe(0);
      expect((await http(store, 'GET', `/payments?orderId=${orderId}`)).body).toEqual([]);
      // Refunding a voided order again is the same answer and the same one void.
      await expect(payments.refundPayment({ orderId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await voidsFor(orderId)).toBe(1);
    });

    it('never leaves a captured payment when charge and refund of an order race (20 orders)', async () => {
      const orderIds = Array.from({ length: 20 }, () => randomUUID());
      // Fired in either order: which reaches the database first is up to the race.
      const race = (orderId: string, refundFirst: boolean) => {
        const early = refundFirst ? payments.refundPayment({ orderId }) : undefined;
        const charged = charge({ orderId });
        return Promise.allSettled([charged, early ?? payments.refundPayment({ orderId })] as const);
      };
      const outcomes = await Promise.all(orderIds.map((orderId, index) => race(orderId, index % 2 === 1)));
      for (const [index, [charged, refunded]] of outcomes.entries()) {
        const orderId = orderIds[index];
        const listed = (await http(store, 'GET', `/payments?orderId=${orderId}`)).body as PaymentView[];
        if (charged.status === 'fulfilled') {
          // The charge came first: it captured, and the refund gave the money back.
          expect(charged.value.status).toBe('CAPTURED');
          expect(refunded).toMatchObject({ status: 'fulfilled', value: { paymentId: charged.value.paymentId, status: 'REFUNDED' } });
          expect(listed).toEqual([(refunded as PromiseFulfilledResult<PaymentView>).value]);
        } else {
          // The refund came first: it found nothing and voided the order, so the charge took nothing.
          expect(charged.reason).toMatchObject({ code: 'CONFLICT' });
          expect(refunded).toMatchObject({ status: 'rejected', reason: { code: 'NOT_FOUND' } });
          expect(listed).toEqual([]);
        }
      }
    });

    it('answers INVALID for an order id that is not a uuid', async () => {
      await expect(payments.refundPayment({ orderId: 'nope' })).rejects.toMatchObject({
        code: 'INVALID',
        errors: expect.arrayContaining([expect.objectContaining({ field: 'orderId' })]),
      });
    });
  });

  describe('GET /payments/:id', () => {
    it.each([
      ['an unknown id', () => randomUUID()],
      ['a malformed id', () => 'not-a-uuid'],
      ['a number', () => '12345'],
      ['a long id', () => 'x'.repeat(500)],
    ])('answers 404 problem+json for %s', async (_case, id) => {
      const response = await http(store, 'GET', `/payments/${id()}`);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ type: 'about:blank', title: 'Not Found', status: 404 });
    });

    it('answers NOT_FOUND through the contract too', async () => {
      await expect(payments.getPayment({ paymentId: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('GET /payments?orderId=', () => {
    it("lists an order's payments", async () => {
      const payment = await charge();
      const response = await http(store, 'GET', `/payments?orderId=${payment.orderId}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.body).toEqual([payment]);
    });

    it('answers an empty list for an unknown or malformed order id', async () => {
      for (const orderId of [randomUUID(), 'not-a-uuid', '']) {
        const response = await http(store, 'GET', `/payments?orderId=${encodeURIComponent(orderId)}`);
        expect(response.status).toBe(200);
        expect(response.body).toEqual([]);
      }
      expect(await payments.findPayments({ orderId: 'not-a-uuid' })).toEqual({ items: [], next: null });
    });

    it('answers 400 problem+json naming orderId when it is missing', async () => {
      const response = await http(store, 'GET', '/payments');
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400 });
      expect(response.body.errors.map((error: { field: string }) => error.field)).toContain('orderId');
      expect(response.body.detail).toContain('orderId');
    });

    it('answers 400 when orderId is given twice', async () => {
      const response = await http(store, 'GET', `/payments?orderId=${randomUUID()}&orderId=${randomUUID()}`);
      expect(response.status).toBe(400);
      expect(response.body.errors[0].field).toBe('orderId');
    });
  });

  it('answers every timestamp as an ISO-8601 string, in process and over HTTP', async () => {
    const captured = await charge();
    const refunded = await payments.refundPayment({ orderId: captured.orderId });
    const fetched = (await http(store, 'GET', `/payments/${captured.paymentId}`)).body as PaymentView;
    const [listed] = (await http(store, 'GET', `/payments?orderId=${captured.orderId}`)).body as PaymentView[];
    const [found] = (await payments.findPayments({ orderId: captured.orderId })).items;
    for (const view of [captured, refunded, fetched, listed, found, await payments.getPayment({ paymentId: captured.paymentId })]) {
      expectIsoTimestamps(view);
    }
  });
});
