import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { connect, headers } from '@nats-io/transport-node';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

const ORDER = {
  customerId: 'c1',
  items: [{ sku: 'KETTLE', quantity: 1 }],
  paymentToken: 'tok_visa',
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
};

/** Reserved property names anywhere in a body are refused like any unknown property; nothing is created. */
describe('hostile input over HTTP', () => {
  let store: TestStore;

  beforeAll(async () => {
    store = await startTestStore();
    expect((await http(store, 'POST', '/inventory/products', { sku: 'KETTLE', name: 'Kettle', priceCents: 2599, stock: 10 })).status).toBe(201);
  });

  afterAll(async () => {
    await store.close();
  });

  it.each([
    ['__proto__ at the top', `{"__proto__":{"admin":true},${JSON.stringify(ORDER).slice(1)}`, '__proto__'],
    ['constructor at the top', `{"constructor":{"prototype":{"x":1}},${JSON.stringify(ORDER).slice(1)}`, 'constructor'],
    ['prototype in a nested object', JSON.stringify({ ...ORDER, shippingAddress: { ...ORDER.shippingAddress, prototype: 1 } }), 'shippingAddress.prototype'],
    ['__proto__ in an array item', JSON.stringify(ORDER).replace('{"sku"', '{"__proto__":1,"sku"'), 'items[0].__proto__'],
  ])('refuses %s with 400 and creates nothing', async (_name, body, field) => {
    const response = await http(store, 'POST', '/orders', body);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body.errors).toEqual([{ field, message: expect.stringMatching(/should not exist/) }]);
    expect((await store.application.databases.get('orders').query('SELECT count(*)::int AS n FROM orders.orders'))[0].n).toBe(0);
  });

  it('refuses a body nested deeper than any request with 400', async () => {
    const deep = `{"customerId":${'['.repeat(100)}${']'.repeat(100)}}`;
    const response = await http(store, 'POST', '/orders', deep);
    expect(response.status).toBe(400);
    expect(response.body.detail).toMatch(/nested more than/);
  });

  it('answers non-JSON with 400', async () => {
    const response = await http(store, 'POST', '/orders', '{"customerId": nope');
    expect(response.status).toBe(400);
    expect(response.body.detail).toBe('request body is not valid JSON');
  });
});

describeWithNats('hostile input over NATS', () => {
  let store: TestStore;
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const token = randomBytes(16).toString('hex');

  beforeAll(async () => {
    store = await startTestStore({ MODULES: 'payments', GATEWAY: 'off', NATS_URL, NATS_SUBJECT_PREFIX: prefix, SERVICE_TOKEN: token });
  });

  afterAll(async () => {
    await store.close();
    await deleteEventStream(NATS_URL, prefix);
  });

  const call = async (operation: string, body: string) => {
    // Replies under the deployment's inboxes: the only ones a service answers (ADR 21).
    const connection = await connect({ servers: NATS_URL, inboxPrefix: `_INBOX.${prefix}` });
    try {
      const h = headers();
      h.set('Mf-Service-Token', token);
      return JSON.parse((await connection.request(`${prefix}.call.payments.${operation}`, body, { timeout: 2_000, headers: h })).string());
    } finally {
      await connection.close();
    }
  };

  it('answers INVALID to a chargePayment with a reserved property name, and creates no payment', async () => {
    const orderId = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    for (const body of [
      `{"__proto__":{"x":1},"orderId":"${orderId}","amountCents":100,"paymentToken":"tok_visa"}`,
      `{"constructor":1,"orderId":"${orderId}","amountCents":100,"paymentToken":"tok_visa"}`,
    ]) {
      expect(await call('chargePayment', body)).toMatchObject({ ok: false, error: { code: 'INVALID', message: expect.stringMatching(/should not exist/) } });
    }
    expect((await store.application.databases.get('payments').query('SELECT count(*)::int AS n FROM payments.payments'))[0].n).toBe(0);
  });

  it('answers INVALID to a payload that is not JSON', async () => {
    expect(await call('getPayment', 'not json {')).toEqual({
      ok: false,
      error: { code: 'INVALID', message: 'the message is not valid JSON', module: 'payments' },
    });
  });
});
