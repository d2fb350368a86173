import 'reflect-metadata';
import pg from 'pg';
import { oneLine, recordStatements } from '../support/recorded-statements.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

const ADDRESS = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };
const order = (items: Array<{ sku: string; quantity: number }>) => ({ customerId: 'cust-keys', items, paymentToken: 'tok_visa', shippingAddress: ADDRESS });

/**
 * Idempotency-Key between two replicas of the whole store on one database: the
 * second never saw the first's keys, so it has only the database to go by. A new
 * key costs one statement, the order's own insert (the unique key answers whether
 * it was taken: no look-up before it); a key the other replica placed is answered
 * with that order, or 409 for another request, whatever is wrong with the other
 * request (the key is taken before the request is judged).
 */
describe('Idempotency-Key across replicas', () => {
  let database: TestDatabase;
  let first: TestStore;
  let second: TestStore;
  let admin: pg.Client;
  const orders = async (): Promise<number> => (await admin.query('SELECT count(*)::int AS n FROM orders.orders')).rows[0].n;

  beforeAll(async () => {
    database = await createTestDatabase();
    first = await startTestStore({}, { database });
    second = await startTestStore({}, { database });
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    expect((await http(first, 'POST', '/inventory/products', { sku: 'KEYS', name: 'Kettle', priceCents: 100, stock: 1000 })).status).toBe(201);
    expect((await http(first, 'POST', '/inventory/products', { sku: 'KEYS-DEAR', name: 'Yacht', priceCents: 100_000_000, stock: 100 })).status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await admin?.end();
    await second?.close().catch(() => {});
    await first?.close().catch(() => {});
    await database?.drop();
  });

  it('places a new keyed order with its insert alone: no look-up of the key before it', async () => {
    // What places an order, or looks one up by its key (the saga's own statements, which may run meanwhile, are not).
    const statements = recordStatements((text) => /^\s*WITH placed AS/i.test(text) || /\bWHERE\b.*idempotency_key/is.test(text));
    let placed;
    try {
      placed = await http(second, 'POST', '/orders', order([{ sku: 'KEYS', quantity: 1 }]), { 'Idempotency-Key': 'keys-new' });
    } finally {
      statements.restore();
    }
    expect(placed.status).toBe(202);
    const texts = statements.sent.map((statement) => oneLine(statement.text, 120));
    const reads = texts.filter((text) => !/^\s*WITH placed AS/i.test(text));
    expect({ inserts: texts.length - reads.length, others: reads }).toEqual({ inserts: 1, others: [] });
  });

  it('answers the other replica’s order for its key, and 409 for any other request under it, creating nothing', async () => {
    const placed = await http(first, 'POST', '/orders', order([{ sku: 'KEYS', quantity: 1 }]), { 'Idempotency-Key': 'keys-taken' });
    expect(placed.status).toBe(202);
    const before = await orders();

    const cases: Array<[string, ReturnType<typeof order>]> = [
      ['another quantity', order([{ sku: 'KEYS', quantity: 2 }])],
      ['an unknown sku', order([{ sku: 'NO-SUCH-SKU', quantity: 1 }])],
      ['a total over the maximum', order([{ sku: 'KEYS-DEAR', quantity: 21 }])],
    ];
    for (const [what, body] of cases) {
      const conflict = await http(second, 'POST', '/orders', body, { 'Idempotency-Key': 'keys-taken' });
      expect({ what, status: conflict.status, title: conflict.body?.title }).toEqual({ what, status: 409, title: 'Conflict' });
    }
    // Last: once answered, the key is known to the second replica too, and its repeats take another path.
    const again = await http(second, 'POST', '/orders', order([{ sku: 'KEYS', quantity: 1 }]), { 'Idempotency-Key': 'keys-taken' });
    expect([again.status, again.body.orderId]).toEqual([200, placed.body.orderId]);
    expect(await orders()).toBe(before);
  });
});
