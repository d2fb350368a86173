import { spawnStore, stopAllStores } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/** The built store serves an OpenAPI document generated from its request and response DTOs. */
describe('OpenAPI at /docs', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await stopAllStores();
    await database?.drop();
  });

  it('describes every route of store-api.md with the schemas of the DTOs', async () => {
    const store = spawnStore({ DATABASE_URL: database.url });
    const port = await store.port(30_000);
    const ui = await fetch(`http://127.0.0.1:${port}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
    const document = (await (await fetch(`http://127.0.0.1:${port}/docs/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>>; required?: string[] }> };
    };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/inventory/products',
        '/inventory/products/{sku}',
        '/inventory/products/{sku}/restock',
        '/orders',
        '/orders/{id}',
        '/orders/{id}/saga',
        '/payments',
        '/payments/{id}',
        '/shipments',
        '/shipments/{id}',
        '/shipping/carrier-events',
        '/notifications',
        '/health',
      ]),
    );
    const { schemas } = document.components;
    // Request schemas carry the validation rules...
    expect(schemas.CheckoutRequest.required).toEqual(expect.arrayContaining(['customerId', 'items', 'paymentToken', 'shippingAddress']));
    expect(schemas.CheckoutRequest.properties.items).toMatchObject({ type: 'array', minItems: 1, maxItems: 100 });
    expect(schemas.OrderItem.properties.quantity).toMatchObject({ minimum: 1, maximum: 1000 });
    expect(schemas.CreateProductCommand.properties.priceCents).toMatchObject({ minimum: 0, maximum: 100000000 });
    // ...and responses name their views, so clients can be generated.
    expect(JSON.stringify(document.paths['/orders/{id}'].get.responses)).toContain('#/components/schemas/OrderView');
    expect(Object.keys(schemas.OrderView.properties)).toEqual(
      expect.arrayContaining(['orderId', 'status', 'customerId', 'items', 'totalCents', 'paymentId', 'shipmentId', 'failureReason', 'createdAt', 'updatedAt']),
    );
    // A query DTO is described as the route's parameters, with its rules.
    const parameters = (
      document.paths['/notifications'].get as unknown as { parameters: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }> }
    ).parameters;
    expect(parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'customerId', in: 'query', required: true, schema: expect.objectContaining({ minLength: 1, maxLength: 100 }) }),
        // Every list is bounded (store-api.md): limit 1..1000, and the opaque cursor of the page before.
        expect.objectContaining({
          name: 'limit',
          in: 'query',
          required: false,
          schema: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 1000 }),
        }),
        expect.objectContaining({ name: 'after', in: 'query', required: false, schema: expect.objectContaining({ type: 'string' }) }),
      ]),
    );
    expect(parameters).toHaveLength(3);
    for (const list of ['/notifications', '/payments', '/shipments']) {
      const ok = (document.paths[list].get.responses as Record<string, { headers?: Record<string, { required?: boolean }> }>)['200'];
      expect({ list, link: ok.headers?.Link }).toEqual({ list, link: expect.objectContaining({ required: false }) });
      const names = (document.paths[list].get as unknown as { parameters: Array<{ name: string }> }).parameters.map((parameter) => parameter.name);
      expect({ list, names }).toEqual({ list, names: expect.arrayContaining(['limit', 'after']) });
    }
    // The orchestrator's probes are documented too.
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/health/live', '/health/ready']));
    expect(JSON.stringify(document.paths['/notifications'].get.responses)).toContain('#/components/schemas/NotificationView');
    // The carrier's webhook: its body's schema, its signature header, and what it answers.
    const webhook = document.paths['/shipping/carrier-events'].post as unknown as {
      parameters: Array<{ name: string; in: string; required: boolean }>;
      responses: Record<string, unknown>;
    };
    expect(webhook.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Carrier-Signature', in: 'header', required: true })]));
    expect(Object.keys(webhook.responses)).toEqual(expect.arrayContaining(['204', '400', '401', '404', '503']));
    expect(schemas.CarrierEvent.required).toEqual(expect.arrayContaining(['shipmentId', 'event', 'at']));
    expect(schemas.CarrierEvent.properties.event).toMatchObject({ enum: ['DELIVERED', 'RETURNED'] });
    expect((schemas.ShipmentView.properties.status.enum as string[]).sort()).toEqual(['CANCELLED', 'DELIVERED', 'RETURNED', 'SCHEDULED']);
    expect(Object.keys(schemas.NotificationView.properties).sort()).toEqual(['createdAt', 'customerId', 'kind', 'notificationId', 'orderId', 'reason']);
    await store.stop('SIGTERM');
  });
});
