import { http, startTestStore, type TestStore } from '../support/test-store.js';

describe('Inventory over HTTP (store-api.md)', () => {
  let store: TestStore;

  beforeAll(async () => {
    store = await startTestStore();
  });
  afterAll(async () => {
    await store?.close();
  });

  const kettle = { sku: 'SKU-1', name: 'Kettle', priceCents: 2599, stock: 10 };

  it('creates a product (201) and shows it with onHand, reserved and available', async () => {
    const created = await http(store, 'POST', '/inventory/products', kettle);
    expect(created.status).toBe(201);
    const view = { sku: 'SKU-1', name: 'Kettle', priceCents: 2599, onHand: 10, reserved: 0, available: 10 };
    expect(created.body).toEqual(view);
    const fetched = await http(store, 'GET', '/inventory/products/SKU-1');
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get('content-type')).toMatch(/^application\/json/);
    expect(fetched.body).toEqual(view);
  });

  it('restocks (200) and answers the product', async () => {
    const restocked = await http(store, 'POST', '/inventory/products/SKU-1/restock', { quantity: 5 });
    expect(restocked.status).toBe(200);
    expect(restocked.body).toMatchObject({ sku: 'SKU-1', onHand: 15, available: 15 });
  });

  it('keeps every restock under concurrency', async () => {
    await http(store, 'POST', '/inventory/products', { ...kettle, sku: 'SKU-CONC', stock: 0 });
    await Promise.all(Array.from({ length: 20 }, () => http(store, 'POST', '/inventory/products/SKU-CONC/restock', { quantity: 3 })));
    expect((await http(store, 'GET', '/inventory/products/SKU-CONC')).body.onHand).toBe(60);
  });

  it('answers 409 problem+json for a duplicate sku and changes nothing', async () => {
    const duplicate = await http(store, 'POST', '/inventory/products', { ...kettle, name: 'Other', stock: 99 });
    expect(duplicate.status).toBe(409);
    expect(duplicate.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(duplicate.body).toEqual({ type: 'about:blank', title: 'Conflict', status: 409, detail: "product 'SKU-1' already exists" });
    expect((await http(store, 'GET', '/inventory/products/SKU-1')).body).toMatchObject({ name: 'Kettle', onHand: 15 });
  });

  it('answers 404 for an unknown sku, whatever its shape', async () => {
    for (const path of ['/inventory/products/NOPE', '/inventory/products/lower-case']) {
      const missing = await http(store, 'GET', path);
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ type: 'about:blank', title: 'Not Found', status: 404 });
    }
    expect((await http(store, 'POST', '/inventory/products/NOPE/restock', { quantity: 1 })).status).toBe(404);
  });

  it.each([
    ['a lower-case sku', { ...kettle, sku: 'sku-1' }, 'sku'],
    ['a 65-character sku', { ...kettle, sku: 'A'.repeat(65) }, 'sku'],
    ['an empty name', { ...kettle, sku: 'SKU-X', name: '' }, 'name'],
    ['a fractional price', { ...kettle, sku: 'SKU-X', priceCents: 10.5 }, 'priceCents'],
    ['a price as a string', { ...kettle, sku: 'SKU-X', priceCents: '2599' }, 'priceCents'],
    ['a negative stock', { ...kettle, sku: 'SKU-X', stock: -1 }, 'stock'],
    ['a stock over 1000000', { ...kettle, sku: 'SKU-X', stock: 1_000_001 }, 'stock'],
    ['an unknown property', { ...kettle, sku: 'SKU-X', colour: 'red' }, 'colour'],
    ['a missing field', { sku: 'SKU-X', name: 'x', priceCents: 1 }, 'stock'],
  ])('answers 400 with the field for %s, and creates nothing', async (_case, body, field) => {
    const response = await http(store, 'POST', '/inventory/products', body);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400 });
    expect(response.body.errors.map((error: { field: string }) => error.field)).toContain(field);
    expect(response.body.detail).toContain(field);
    expect((await http(store, 'GET', '/inventory/products/SKU-X')).status).toBe(404);
  });

  it('answers 400 for restock quantities out of 1..1000000', async () => {
    for (const quantity of [0, 1_000_001, 1.5, '2']) {
      const response = await http(store, 'POST', '/inventory/products/SKU-1/restock', { quantity });
      expect(response.status).toBe(400);
      expect(response.body.errors[0].field).toBe('quantity');
    }
    expect((await http(store, 'GET', '/inventory/products/SKU-1')).body.onHand).toBe(15);
  });

  it('answers 400 for malformed JSON and for a body that is not an object', async () => {
    const malformed = await http(store, 'POST', '/inventory/products', '{"sku": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ status: 400, detail: 'request body is not valid JSON' });
    expect((await http(store, 'POST', '/inventory/products', '[1,2]')).status).toBe(400);
    expect((await http(store, 'POST', '/inventory/products', 'null')).status).toBe(400);
  });

  it('answers 415 for a body that is not declared JSON', async () => {
    const response = await fetch(`${store.url}/inventory/products`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(kettle),
    });
    expect(response.status).toBe(415);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ status: 415, title: 'Unsupported Media Type' });
  });

  it('answers 413 for a body over 1 MiB', async () => {
    const response = await http(store, 'POST', '/inventory/products', { ...kettle, name: 'x'.repeat(1024 * 1024 + 1) });
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ status: 413, title: 'Payload Too Large' });
  });

  it('answers 404 problem+json for an unknown route', async () => {
    const response = await http(store, 'GET', '/no/such/route');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
