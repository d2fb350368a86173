import { randomUUID } from 'node:crypto';
import { ModuleError } from '../../src/platform/contracts/module.error.js';
import { PaymentsContract, type Payments } from '../../src/modules/payments/index.js';
import { SimulatedPaymentProvider } from '../../src/modules/payments/internal/charge-payment/simulated-provider.js';
import { eventually } from '../support/eventually.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { startTestStore, type TestStore } from '../support/test-store.js';

/**
 * Payments with a provider that really takes money: the intent is written
 * before the provider is asked, so a charge arriving after its refund never
 * captures, and one the refund overtakes gives back what it took.
 */
describe('payments: intent, provider, outcome (real Postgres)', () => {
  let database: TestDatabase;
  let store: TestStore;
  let payments: Payments;
  let provider: SimulatedPaymentProvider;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await startTestStore({}, { database });
    payments = store.application.app.get(PaymentsContract.client, { strict: false });
    provider = store.application.app.get(SimulatedPaymentProvider, { strict: false });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  const statusOf = async (orderId: string) =>
    (await store.application.databases.get('payments').query('SELECT status FROM payments.payments WHERE order_id = $1', [orderId]))[0]?.status;

  it('a charge arriving after its refund voided the order captures nothing at the provider', async () => {
    const orderId = randomUUID();
    await expect(payments.refundPayment({ orderId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(payments.chargePayment({ orderId, amountCents: 700, paymentToken: 'tok_visa' })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await provider.held(orderId)).toBe(0);
    expect(await statusOf(orderId)).toBe('VOIDED');
  });

  it('a refund that overtakes a charge at the provider voids the intent, and the charge gives the money back', async () => {
    const orderId = randomUUID();
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const capture = provider.capture.bind(provider);
    provider.capture = async (...args) => {
      await gate;
      return capture(...args);
    };
    try {
      const charging = payments.chargePayment({ orderId, amountCents: 900, paymentToken: 'tok_visa' });
      await eventually(async () => expect(await statusOf(orderId)).toBe('AUTHORIZING'));
      await expect(payments.refundPayment({ orderId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      open();
      await expect(charging).rejects.toBeInstanceOf(ModuleError);
    } finally {
      provider.capture = capture;
    }
    expect(await statusOf(orderId)).toBe('VOIDED');
    expect(await provider.held(orderId)).toBe(0);
  });

  it('an intent left by a crash is completed by the retried charge, captured once', async () => {
    const orderId = randomUUID();
    await store.application.databases
      .get('payments')
      .query(`INSERT INTO payments.payments (order_id, amount_cents, token, status) VALUES ($1, 400, 'tok_visa', 'AUTHORIZING')`, [orderId]);
    expect(await payments.findPayments({ orderId })).toEqual({ items: [], next: null });
    const first = await payments.chargePayment({ orderId, amountCents: 400, paymentToken: 'tok_visa' });
    const again = await payments.chargePayment({ orderId, amountCents: 400, paymentToken: 'tok_visa' });
    expect(first).toMatchObject({ status: 'CAPTURED', amountCents: 400 });
    expect(again.paymentId).toBe(first.paymentId);
    expect(await provider.held(orderId)).toBe(400);
    await payments.refundPayment({ orderId });
    expect(await provider.held(orderId)).toBe(0);
    expect(await statusOf(orderId)).toBe('REFUNDED');
  });
});
