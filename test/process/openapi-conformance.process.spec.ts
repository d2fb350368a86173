import { createClient } from '@hey-api/openapi-ts';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import { execFile } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { eventually } from '../support/eventually.js';
import { spawnStore, stopAllStores } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * The OpenAPI document is exact: fetched from a running store, every real answer of a full
 * checkout and of each error case of store-api.md is a status the document declares for that
 * operation, with its media type, headers and body schema; and a client generated from the
 * document compiles and checks out.
 */

type Schema = Record<string, unknown>;
interface Response$ {
  description: string;
  headers?: Record<string, { schema: Schema; required?: boolean }>;
  content?: Record<string, { schema: Schema }>;
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; responses: Record<string, Response$> }>>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CARRIER_SECRET = 'whsec_openapi';

/** A carrier event, signed as the carrier signs it (store-api.md, Shipping). */
function carrierEvent(body: object, secret = CARRIER_SECRET): RequestInit {
  const text = JSON.stringify(body);
  const t = Math.floor(Date.now() / 1000);
  const signature = `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${text}`).digest('hex')}`;
  return { headers: { 'content-type': 'application/json', 'carrier-signature': signature }, body: text };
}
const CHECKOUT = {
  customerId: 'cust-openapi',
  paymentToken: 'tok_visa',
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
};

describe('OpenAPI document against real answers', () => {
  let database: TestDatabase;
  let base: string;
  let document: OpenApi;
  const ajv = new Ajv({ strict: false, allErrors: true });
  // A CommonJS module whose function is its default export under nodenext.
  (formats as unknown as { default: (ajv: Ajv) => void }).default(ajv);
  const compiled = new Map<Schema, ValidateFunction>();
  const covered = new Set<string>();

  beforeAll(async () => {
    database = await createTestDatabase();
    const store = spawnStore({ DATABASE_URL: database.url, CARRIER_WEBHOOK_SECRET: CARRIER_SECRET });
    base = `http://127.0.0.1:${await store.port(30_000)}`;
    document = (await (await fetch(`${base}/docs/openapi.json`)).json()) as OpenApi;
    ajv.addSchema(document, 'openapi');
  });
  afterAll(async () => {
    await stopAllStores();
    await database?.drop();
  });

  /** Sends a request and checks its answer against the document's operation for `template`. */
  async function call(method: string, template: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await fetch(`${base}${path}`, { method, ...init });
    const text = await response.text();
    const operation = document.paths[template]?.[method.toLowerCase()];
    const where = `${method} ${template} → ${response.status}`;
    expect({ where, declared: operation !== undefined }).toEqual({ where, declared: true });
    const declared = operation.responses[String(response.status)];
    expect({ where, declared: declared !== undefined }).toEqual({ where, declared: true });
    covered.add(`${method} ${template} ${response.status}`);
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0].trim();
    let body: unknown;
    if (declared.content) {
      expect({ where, mediaType, declared: Object.keys(declared.content) }).toEqual({ where, mediaType, declared: expect.arrayContaining([mediaType]) });
      body = JSON.parse(text);
      const validate = validatorFor(declared.content[mediaType].schema);
      const valid = validate(body);
      expect({ where, errors: valid ? [] : validate.errors }).toEqual({ where, errors: [] });
    } else {
      expect({ where, body: text }).toEqual({ where, body: '' });
    }
    for (const [name, header] of Object.entries(declared.headers ?? {})) {
      const value = response.headers.get(name);
      // A header declared optional (Link: only when another page follows) may be absent; one that is there must fit.
      if (value === null && header.required === false) continue;
      expect({ where, header: name, present: value !== null }).toEqual({ where, header: name, present: true });
      const typed = header.schema.type === 'integer' ? Number(value) : value;
      const validate = validatorFor(header.schema);
      expect({ where, header: name, value, valid: validate(typed) }).toEqual({ where, header: name, value, valid: true });
    }
    return { status: response.status, body, headers: response.headers };
  }

  /** A schema of the document, its `#/components/...` references resolved in the document. */
  function validatorFor(schema: Schema): ValidateFunction {
    const known = compiled.get(schema);
    if (known) return known;
    const validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/')) as Schema);
    compiled.set(schema, validate);
    return validate;
  }

  const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

  it('is a valid OpenAPI 3 document', async () => {
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('declares every answer of a full checkout and of each error case, with its schema and headers', async () => {
    await call('GET', '/health', '/health');
    expect((await call('GET', '/health/live', '/health/live')).body).toEqual({ status: 'ok' });
    expect((await call('GET', '/health/ready', '/health/ready')).body).toMatchObject({ status: 'ready' });
    const product = { sku: 'OA-KETTLE', name: 'Kettle', priceCents: 2599, stock: 10 };
    expect((await call('POST', '/inventory/products', '/inventory/products', json(product))).status).toBe(201);
    expect((await call('POST', '/inventory/products', '/inventory/products', json(product))).status).toBe(409);
    expect((await call('POST', '/inventory/products', '/inventory/products', json({ ...product, sku: 'OA-2', priceCents: 1.5 }))).status).toBe(400);
    expect((await call('POST', '/inventory/products', '/inventory/products', json('{"sku":'))).status).toBe(400);
    expect((await call('POST', '/inventory/products', '/inventory/products', { headers: { 'content-type': 'text/plain' }, body: 'x' })).status).toBe(415);
    expect((await call('POST', '/inventory/products', '/inventory/products', json({ ...product, name: 'x'.repeat(1_100_000) }))).status).toBe(413);
    expect((await call('GET', '/inventory/products/{sku}', '/inventory/products/OA-KETTLE')).body).toMatchObject({ available: 10 });
    expect((await call('GET', '/inventory/products/{sku}', '/inventory/products/OA-NONE')).status).toBe(404);
    expect((await call('POST', '/inventory/products/{sku}/restock', '/inventory/products/OA-KETTLE/restock', json({ quantity: 5 }))).status).toBe(200);
    expect((await call('POST', '/inventory/products/{sku}/restock', '/inventory/products/OA-NONE/restock', json({ quantity: 5 }))).status).toBe(404);

    const checkout = { ...CHECKOUT, items: [{ sku: 'OA-KETTLE', quantity: 2 }] };
    const placed = await call('POST', '/orders', '/orders', json(checkout, { 'idempotency-key': 'oa-1' }));
    expect(placed.status).toBe(202);
    expect(placed.headers.get('location')).toBe(`/orders/${placed.body.orderId}`);
    const replay = await call('POST', '/orders', '/orders', json(checkout, { 'idempotency-key': 'oa-1' }));
    expect({ status: replay.status, orderId: replay.body.orderId }).toEqual({ status: 200, orderId: placed.body.orderId });
    expect((await call('POST', '/orders', '/orders', json({ ...checkout, customerId: 'other' }, { 'idempotency-key': 'oa-1' }))).status).toBe(409);
    expect((await call('POST', '/orders', '/orders', json({ ...checkout, items: [{ sku: 'OA-NONE', quantity: 1 }] }))).status).toBe(422);
    expect((await call('POST', '/orders', '/orders', json({ ...checkout, items: [{ sku: 'OA-KETTLE', quantity: '2' }] }))).status).toBe(400);
    expect((await call('POST', '/orders', '/orders', json(checkout, { 'idempotency-key': '' }))).status).toBe(400);
    // Prefer: wait (ADR 30): the whole order, 201 new and 200 for a replay, with Preference-Applied.
    const waited = await call('POST', '/orders', '/orders', json(checkout, { 'idempotency-key': 'oa-wait', prefer: 'wait=10' }));
    expect({ status: waited.status, order: waited.body.status, applied: waited.headers.get('preference-applied') }).toEqual({
      status: 201,
      order: 'CONFIRMED',
      applied: 'wait=10',
    });
    const waitedAgain = await call('POST', '/orders', '/orders', json(checkout, { 'idempotency-key': 'oa-wait', prefer: 'wait=10' }));
    expect({ status: waitedAgain.status, body: waitedAgain.body }).toEqual({ status: 200, body: waited.body });

    const id = placed.body.orderId as string;
    const order = await eventually(async () => {
      const answer = await call('GET', '/orders/{id}', `/orders/${id}`);
      expect(answer.body.status).toBe('CONFIRMED');
      return answer.body;
    });
    // The checkout's six entries, and the delivery's wait once it has begun (from the confirmation's event).
    const log = (await call('GET', '/orders/{id}/saga', `/orders/${id}/saga`)).body as Array<{ step: string }>;
    expect(log.filter((entry) => entry.step !== 'AWAIT_DELIVERY')).toHaveLength(6);
    expect((await call('GET', '/orders/{id}', '/orders/not-a-uuid')).status).toBe(404);
    expect((await call('GET', '/payments', `/payments?orderId=${id}`)).body).toHaveLength(1);
    expect((await call('GET', '/payments', '/payments')).status).toBe(400);
    expect((await call('GET', '/payments', `/payments?orderId=${id}&page=2`)).status).toBe(400);
    expect((await call('GET', '/payments/{id}', `/payments/${order.paymentId}`)).body).toMatchObject({ status: 'CAPTURED' });
    expect((await call('GET', '/payments/{id}', `/payments/${id}`)).status).toBe(404);
    expect((await call('GET', '/shipments', `/shipments?orderId=${id}`)).body).toHaveLength(1);
    expect((await call('GET', '/shipments/{id}', `/shipments/${order.shipmentId}`)).body).toMatchObject({ status: 'SCHEDULED' });
    expect((await call('GET', '/shipments/{id}', `/shipments/${id}`)).status).toBe(404);

    // The carrier's webhook: a signed DELIVERED (204, the shipment DELIVERED), a bad signature, an unknown shipment, a bad body.
    const carrier = '/shipping/carrier-events';
    const delivered = { shipmentId: order.shipmentId, event: 'DELIVERED', at: '2025-12-08T10:15:00Z' };
    expect((await call('POST', carrier, carrier, carrierEvent(delivered, 'whsec_wrong'))).status).toBe(401);
    expect((await call('POST', carrier, carrier, carrierEvent(delivered))).status).toBe(204);
    expect((await call('GET', '/shipments/{id}', `/shipments/${order.shipmentId}`)).body).toMatchObject({ status: 'DELIVERED' });
    expect((await call('POST', carrier, carrier, carrierEvent({ ...delivered, shipmentId: randomUUID() }))).status).toBe(404);
    expect((await call('POST', carrier, carrier, carrierEvent({ ...delivered, event: 'LOST' }))).status).toBe(400);

    // A compensated checkout: its order carries a failureReason, its payment is REFUNDED.
    const declined = await call('POST', '/orders', '/orders', json({ ...checkout, paymentToken: 'tok_declined' }));
    await eventually(async () => {
      expect((await call('GET', '/orders/{id}', `/orders/${declined.body.orderId}`)).body).toMatchObject({
        status: 'CANCELLED',
        failureReason: 'PAYMENT_DECLINED',
      });
    });

    // A bounded list: a page with its Link to the next, the last page without one, and a bad limit or cursor.
    const page = await eventually(async () => {
      const answer = await call('GET', '/notifications', '/notifications?customerId=cust-openapi&limit=1');
      expect(answer.headers.get('link')).toMatch(/^<\/notifications\?[^>]*after=[A-Za-z0-9_-]+>; rel="next"$/);
      return answer;
    });
    expect(page.body).toHaveLength(1);
    const next = /^<([^>]*)>/.exec(page.headers.get('link')!)![1];
    const rest = await call('GET', '/notifications', next);
    expect(rest.body).toHaveLength(1);
    expect((await call('GET', '/notifications', '/notifications?customerId=cust-openapi&limit=0')).status).toBe(400);
    expect((await call('GET', '/notifications', '/notifications?customerId=cust-openapi&after=AAAA')).status).toBe(400);
    expect((await call('GET', '/notifications', next.replace('customerId=cust-openapi', 'customerId=someone-else'))).status).toBe(400);
    expect([...covered].length).toBeGreaterThanOrEqual(29);
  });

  it('generates a client from the document that compiles and checks out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mf-openapi-client-'));
    try {
      await createClient({ input: document as never, output: { path: dir }, plugins: ['@hey-api/client-fetch'], logs: { level: 'silent' } });
      await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      await writeFile(join(dir, 'checkout.ts'), CLIENT_CHECKOUT);
      const options: ts.CompilerOptions = {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2023,
        lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
        strict: true,
        skipLibCheck: true,
        typeRoots: [join(ROOT, 'node_modules/@types')],
        types: ['node'],
        outDir: dir,
      };
      const program = ts.createProgram([join(dir, 'checkout.ts')], options);
      const emitted = program.emit();
      const problems = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map(
        (diagnostic) => `${diagnostic.file?.fileName.slice(dir.length) ?? ''}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
      );
      expect(problems).toEqual([]);
      const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'checkout.js'), base]);
      expect(JSON.parse(stdout)).toEqual({
        placed: 202,
        replayed: 200,
        status: 'CONFIRMED',
        totalCents: 2 * 1999,
        unknownSku: 422,
        problem: 'Unprocessable Entity',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A checkout as a client developer would write it with the generated SDK: typed bodies, answers and errors. */
const CLIENT_CHECKOUT = `
import { client } from './client.gen.js';
import { inventoryControllerCreate, ordersControllerCheckout, ordersControllerGet } from './sdk.gen.js';
import type { CheckoutRequest, OrderView } from './types.gen.js';

client.setConfig({ baseUrl: process.argv[2] });
await inventoryControllerCreate({ body: { sku: 'SDK-MUG', name: 'Mug', priceCents: 1999, stock: 5 }, throwOnError: true });
const body: CheckoutRequest = {
  customerId: 'cust-sdk',
  items: [{ sku: 'SDK-MUG', quantity: 2 }],
  paymentToken: 'tok_visa',
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
};
const placed = await ordersControllerCheckout({ body, headers: { 'Idempotency-Key': 'sdk-1' }, throwOnError: true });
const replayed = await ordersControllerCheckout({ body, headers: { 'Idempotency-Key': 'sdk-1' }, throwOnError: true });
let order: OrderView | undefined;
for (let attempt = 0; attempt < 400 && (order === undefined || order.status === 'PENDING'); attempt++) {
  if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 25));
  order = (await ordersControllerGet({ path: { id: placed.data.orderId }, throwOnError: true })).data;
}
const unknown = await ordersControllerCheckout({ body: { ...body, items: [{ sku: 'SDK-NONE', quantity: 1 }] } });
console.log(JSON.stringify({
  placed: placed.response.status,
  replayed: replayed.response.status,
  status: order?.status,
  totalCents: order?.totalCents,
  unknownSku: unknown.response?.status,
  problem: unknown.error?.title,
}));
`;
