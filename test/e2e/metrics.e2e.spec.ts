import { eventually } from '../support/eventually.js';
import { http } from '../support/test-store.js';
import { describeEachTopology } from '../support/needs-nats.js';
import { startTopology, type TestTopology, topologiesUnderTest } from '../support/test-topology.js';

const topologies = (await topologiesUnderTest()).filter((name) => name !== 'microservices');

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return response.text();
}

/** The value of one sample line of a Prometheus text page, by metric name and labels. */
function sample(page: string, name: string, labels: Record<string, string>): number | undefined {
  const line = page
    .split('\n')
    .find((candidate) => candidate.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => candidate.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describeEachTopology(topologies, 'GET /metrics in the %s topology', (topology) => {
  let store: TestTopology;

  beforeAll(async () => {
    store = await startTopology(topology);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('counts HTTP by route template, module calls by binding, the outbox, and saga outcomes', async () => {
    expect((await http(store, 'POST', '/inventory/products', { sku: 'M-1', name: 'm', priceCents: 100, stock: 5 })).status).toBe(201);
    const placed = await http(store, 'POST', '/orders', {
      customerId: 'c',
      items: [{ sku: 'M-1', quantity: 1 }],
      paymentToken: 'tok_visa',
      shippingAddress: { name: 'A', line1: 'l', city: 'c', postalCode: '1', country: 'NO' },
    });
    await eventually(async () => expect((await http(store, 'GET', `/orders/${placed.body.orderId}`)).body.status).toBe('CONFIRMED'));
    await http(store, 'GET', '/orders/not-an-order');

    const gateway = await scrape(store.url);
    expect(sample(gateway, 'http_request_duration_seconds_count', { method: 'POST', route: '/orders', status: '202' })).toBe(1);
    expect(sample(gateway, 'http_request_duration_seconds_count', { method: 'GET', route: '/orders/:id', status: '404' })).toBe(1);
    expect(sample(gateway, 'module_call_duration_seconds_count', { module: 'orders', operation: 'getOrder', binding: 'local', outcome: 'NOT_FOUND' })).toBe(1);
    const inventoryBinding = topology === 'monolith' ? 'local' : 'remote';
    expect(
      sample(gateway, 'module_call_duration_seconds_count', { module: 'inventory', operation: 'reserveStock', binding: inventoryBinding, outcome: 'ok' }),
    ).toBe(1);
    expect(sample(gateway, 'checkout_saga_outcomes_total', { status: 'CONFIRMED', reason: 'none' })).toBe(1);
    // OrderConfirmed leaves Orders' outbox shortly after the order is confirmed (to Notifications, or the stream).
    await eventually(async () => expect(sample(await scrape(store.url), 'outbox_pending_deliveries', { module: 'orders' })).toBe(0));
    expect(sample(gateway, 'outbox_dead_letters', { module: 'orders' })).toBe(0);
    expect(gateway).toContain('process_cpu_seconds_total');

    if (topology !== 'monolith') {
      // Every process serves its own metrics, the headless ones too.
      const inventory = store.processes.get('inventory')!;
      const page = await scrape(inventory.url);
      expect(sample(page, 'module_call_duration_seconds_count', { module: 'inventory', operation: 'reserveStock', binding: 'local', outcome: 'ok' })).toBe(1);
    }
  });
});
