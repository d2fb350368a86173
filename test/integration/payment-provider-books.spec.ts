import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { SimulatedPaymentProvider } from '../../src/modules/payments/internal/charge-payment/simulated-provider.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { startTestStore, type TestStore } from '../support/test-store.js';

const BOOKS_MAX = 50;

/*
 * The simulated provider stands for one system outside the store (issue 27, ADR 24):
 * two replicas of Payments on one database see the same books, so a capture made
 * through one is a repeat for the other (no second charge), and a refund through
 * either gives the money back once. Its books stay bounded however many charges go by.
 */
describe('the simulated payment provider shared by replicas (real Postgres)', () => {
  let database: TestDatabase;
  let replicas: TestStore[];
  let providers: SimulatedPaymentProvider[];
  let admin: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    replicas = [];
    for (let i = 0; i < 2; i++) replicas.push(await startTestStore({ PAYMENT_PROVIDER_BOOKS_MAX: String(BOOKS_MAX) }, { database }));
    providers = replicas.map((replica) => replica.application.app.get(SimulatedPaymentProvider, { strict: false }));
    expect(providers[0]).not.toBe(providers[1]);
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  }, 60_000);
  afterAll(async () => {
    await admin?.end();
    for (const replica of replicas ?? []) await replica.close();
    await database?.drop();
  });

  /** What the provider holds for a key, as each replica sees it. */
  const heldEverywhere = (key: string) => Promise.all(providers.map((provider) => provider.held(key)));

  it('a capture through one replica is a repeat for the other, and a refund through either gives it back once', async () => {
    const key = randomUUID();
    expect(await providers[0].capture(key, 500, 'tok_visa')).toBe('CAPTURED');
    expect(await heldEverywhere(key)).toEqual([500, 500]); // known to the other replica
    expect(await providers[1].capture(key, 500, 'tok_visa')).toBe('CAPTURED'); // a repeat: nothing more taken
    await providers[1].refund(key); // one refund, through either, gives back all that was taken
    expect(await heldEverywhere(key)).toEqual([0, 0]);
    await providers[0].refund(key);
    expect(await heldEverywhere(key)).toEqual([0, 0]);
    // A repeat after the refund still answers CAPTURED and takes nothing again.
    expect(await providers[0].capture(key, 500, 'tok_visa')).toBe('CAPTURED');
    expect(await heldEverywhere(key)).toEqual([0, 0]);

    const declined = randomUUID();
    expect(await providers[1].capture(declined, 300, 'tok_declined')).toBe('DECLINED');
    expect(await providers[0].capture(declined, 300, 'tok_visa')).toBe('DECLINED');
    expect(await heldEverywhere(declined)).toEqual([0, 0]);
  });

  it('captures of one key at the same moment in both replicas take the money once', async () => {
    const key = randomUUID();
    const answers = await Promise.all(providers.flatMap((provider) => [provider.capture(key, 700, 'tok_visa'), provider.capture(key, 700, 'tok_visa')]));
    expect(new Set(answers)).toEqual(new Set(['CAPTURED']));
    const { rows } = await admin.query('SELECT amount_cents FROM payments.provider_books WHERE key = $1', [key]);
    expect(rows).toEqual([{ amount_cents: 700 }]);
  });

  it('a refund before the capture does not stop it (as a real provider)', async () => {
    const key = randomUUID();
    await providers[0].refund(key);
    expect(await providers[1].capture(key, 400, 'tok_visa')).toBe('CAPTURED');
    expect(await heldEverywhere(key)).toEqual([400, 400]);
  });

  it('keeps its books bounded: past PAYMENT_PROVIDER_BOOKS_MAX the oldest go, and so does what is past the retention', async () => {
    const keys = Array.from({ length: 4 * BOOKS_MAX }, () => randomUUID());
    for (const [i, key] of keys.entries()) await providers[i % 2].capture(key, 100, 'tok_visa');
    await Promise.all(providers.map((provider) => provider.prune()));
    const { rows } = await admin.query<{ key: string }>('SELECT key FROM payments.provider_books');
    expect(rows.length).toBe(BOOKS_MAX);
    expect(new Set(rows.map((row) => row.key))).toEqual(new Set(keys.slice(-BOOKS_MAX)));

    // Past the retention (7 days by default): gone at the next prune, whatever the bound.
    await admin.query(`UPDATE payments.provider_books SET created_at = now() - interval '8 days' WHERE key = ANY($1::text[])`, [keys.slice(-10)]);
    await providers[0].prune();
    expect((await admin.query('SELECT count(*)::int AS n FROM payments.provider_books')).rows[0].n).toBe(BOOKS_MAX - 10);
  });
});
