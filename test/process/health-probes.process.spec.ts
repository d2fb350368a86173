import { randomBytes, randomUUID } from 'node:crypto';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { FaultProxy } from '../../tools/support/fault-proxy.js';
import { freePortRange } from '../../tools/support/network.js';
import { TopologyProcesses } from '../../tools/topology/topology-processes.js';
import { eventually } from '../support/eventually.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { spawnStore, stopAllStores } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { failedTests } from '../support/failed-tests.js';

const address = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };

const get = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: await response.text() };
};

/**
 * The probes an orchestrator uses (store-api.md, Operations), on built
 * processes: readiness is this process's own work only, so a gateway stays in
 * its Service while one module's service is down and only that module's routes
 * answer 503; liveness checks nothing but the process, so an outage of its
 * database restarts nothing.
 */
describeWithNats('/health/live and /health/ready in the microservices topology', () => {
  let database: TestDatabase;
  let topology: TopologyProcesses | undefined;
  const output: string[] = [];
  const prefix = `t${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    topology = await TopologyProcesses.start({
      topology: 'microservices',
      modules: ['inventory', 'notifications', 'orders', 'payments', 'shipping'],
      port: await freePortRange(6),
      ownDatabases: false,
      databaseUrl: database.url,
      env: { LOG_LEVEL: 'warn', NATS_URL, NATS_SUBJECT_PREFIX: prefix, REMOTE_CALL_TIMEOUT_MS: '2000' },
      onLine: (name, line) => output.push(`${name}| ${line}`),
      // Five processes starting at once on a shared two-core machine: start-up takes a while.
      startTimeoutMs: 180_000,
    });
  }, 400_000);

  afterAll(async () => {
    if (failedTests() > 0) console.log(output.slice(-40).join('\n'));
    await topology?.stop();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
    await database?.drop();
  });

  it('keeps the gateway ready and every other route working while the notifications service is down', async () => {
    const url = topology!.gatewayUrl;
    for (const [name, running] of topology!.processes) {
      expect([name, (await get(`http://127.0.0.1:${running.port}/health/live`)).status]).toEqual([name, 200]);
      expect([name, (await get(`http://127.0.0.1:${running.port}/health/ready`)).status]).toEqual([name, 200]);
    }

    await topology!.stopProcess('notifications', 'SIGKILL');

    // /health still says what it says (a module this gateway needs is down)...
    await eventually(async () => expect((await get(`${url}/health`)).status).toBe(503), 10_000, 100);
    // ...but readiness is this process's own work: the gateway stays in its Service.
    expect((await get(`${url}/health/ready`)).status).toBe(200);
    expect((await get(`${url}/health/live`)).status).toBe(200);
    for (const name of ['orders', 'inventory', 'payments', 'shipping']) {
      expect([name, (await get(`http://127.0.0.1:${topology!.processes.get(name)!.port}/health/ready`)).status]).toEqual([name, 200]);
    }

    // Checkouts go on...
    const sku = `SKU-${randomUUID().slice(0, 8)}`.toUpperCase();
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/inventory/products', { sku, name: 'Kettle', priceCents: 100, stock: 5 })).status).toBe(201);
    const placed = await post('/orders', { customerId: 'cust-ready', items: [{ sku, quantity: 1 }], paymentToken: 'tok_visa', shippingAddress: address });
    const placedBody = await placed.text();
    expect([placed.status, placedBody]).toEqual([202, expect.any(String)]);
    const { orderId } = JSON.parse(placedBody) as { orderId: string };
    await eventually(async () => expect(JSON.parse((await get(`${url}/orders/${orderId}`)).body).status).toBe('CONFIRMED'), 20_000, 100);

    // ...and only the route that needs Notifications answers 503, with Retry-After.
    const notifications = await get(`${url}/notifications?customerId=cust-ready`);
    expect(notifications.status).toBe(503);
    expect(notifications.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(notifications.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await get(`${url}/inventory/products/${sku}`)).status).toBe(200);
    expect((await get(`${url}/health/ready`)).status).toBe(200);

    // Back: the notification made while it was down is there.
    await topology!.startProcess('notifications');
    await eventually(async () => expect(JSON.parse((await get(`${url}/notifications?customerId=cust-ready`)).body)).toHaveLength(1), 20_000, 100);
  }, 120_000);
});

describe('/health/ready and /health/live when the database is unreachable', () => {
  let database: TestDatabase;
  let proxy: FaultProxy | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await stopAllStores();
    await proxy?.stop();
    await database?.drop();
  });

  it('is not ready but alive while PostgreSQL does not answer, and ready again once it does', async () => {
    const target = new URL(database.url);
    proxy = await FaultProxy.start(`tcp://${target.hostname}:${target.port || 5432}`);
    const viaProxy = new URL(database.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const store = spawnStore({ DATABASE_URL: viaProxy.toString() });
    const port = await store.port(180_000);
    const base = `http://127.0.0.1:${port}`;
    expect((await get(`${base}/health/ready`)).status).toBe(200);
    expect((await get(`${base}/health/live`)).status).toBe(200);

    proxy.partition();
    await eventually(async () => expect((await get(`${base}/health/ready`)).status).toBe(503), 15_000, 200);
    const live = await get(`${base}/health/live`);
    expect(live.status).toBe(200);

    proxy.heal();
    await eventually(async () => expect((await get(`${base}/health/ready`)).status).toBe(200), 30_000, 200);
    await store.stop('SIGTERM');
  }, 300_000);
});
