import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { authorizationConfig, generatePassword, type NatsServiceUser } from '../../src/platform/transport/nats-authorization.js';
import { freePort } from '../../tools/support/free-port.js';
import { eventually } from '../support/eventually.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

const NATS_SERVER = '/usr/sbin/nats-server';
const PREFIX = 'mf';

/**
 * NATS's own authorization, from the generated configuration (npm run nats-auth), on a
 * nats-server of this test's own: the services work with their users and no service token;
 * a client without credentials cannot connect, and one with another service's credentials
 * can neither read a module's calls or replies nor answer in its place.
 */
(existsSync(NATS_SERVER) ? describe : describe.skip)('NATS authorization per service', () => {
  let server: ChildProcess;
  let dir: string;
  let url: string;
  let database: TestDatabase;
  const stores: TestStore[] = [];
  let users: NatsServiceUser[];
  const credentials = (user: string) => {
    const found = users.find((u) => u.user === user)!;
    return { NATS_USER: found.user, NATS_PASSWORD: found.password };
  };

  beforeAll(async () => {
    const modules = await discoverModules();
    users = [
      { user: 'inventory', modules: ['inventory'], gateway: false },
      { user: 'main', modules: ['orders', 'payments', 'shipping', 'notifications'], gateway: true },
      { user: 'payments', modules: ['payments'], gateway: false },
    ].map((u) => ({ ...u, password: generatePassword() }));
    dir = mkdtempSync(join(tmpdir(), 'mf-nats-auth-'));
    writeFileSync(join(dir, 'server.conf'), authorizationConfig(users, modules, PREFIX));
    const port = await freePort();
    url = `nats://127.0.0.1:${port}`;
    server = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js'), '-c', join(dir, 'server.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    server.stderr!.on('data', (chunk) => (log += chunk));
    await eventually(async () => expect(log).toMatch(/Server is ready/), 10_000);
    database = await createTestDatabase();
  }, 30_000);

  afterAll(async () => {
    for (const store of stores.splice(0).reverse()) await store.close().catch(() => {});
    await database?.drop();
    server?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lets the services work with their own users, without a service token', async () => {
    stores.push(await startTestStore({ MODULES: 'inventory', GATEWAY: 'off', NATS_URL: url, ...credentials('inventory') }, { database }));
    const gateway = await startTestStore({ MODULES: 'orders,payments,shipping,notifications', NATS_URL: url, ...credentials('main') }, { database });
    stores.push(gateway);
    expect((await http(gateway, 'POST', '/inventory/products', { sku: 'KETTLE', name: 'Kettle', priceCents: 2599, stock: 10 })).status).toBe(201);
    const placed = await http(gateway, 'POST', '/orders', {
      customerId: 'c1',
      items: [{ sku: 'KETTLE', quantity: 2 }],
      paymentToken: 'tok_visa',
      shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
    });
    expect(placed.status).toBe(202);
    await eventually(async () => expect((await http(gateway, 'GET', `/orders/${placed.body.orderId}`)).body.status).toBe('CONFIRMED'));
    // The order's events cross to notifications through the stream, with the main user's own consumer.
    await eventually(async () => expect((await http(gateway, 'GET', `/notifications?customerId=c1`)).body).toHaveLength(1));
  }, 60_000);

  it('keeps a client without credentials off the server', async () => {
    await expect(connect({ servers: url, timeout: 2_000, reconnect: false })).rejects.toThrow(/authorization/i);
  });

  it("refuses another service's user its subscriptions, its replies and its answers", async () => {
    const stranger: NatsConnection = await connect({ servers: url, user: 'payments', pass: credentials('payments').NATS_PASSWORD, inboxPrefix: '_INBOX.payments' });
    try {
      const denied = async (subject: string) => {
        const subscription = stranger.subscribe(subject);
        const outcome = await subscription.closed;
        return outcome instanceof Error ? outcome.message : 'subscribed';
      };
      // Reading inventory's calls (and so answering them in its place), or the gateway's replies.
      expect(await denied(`${PREFIX}.call.inventory.*`)).toMatch(/permission/i);
      expect(await denied('_INBOX.main.>')).toMatch(/permission/i);
      expect(await denied('_INBOX.>')).toMatch(/permission/i);
      // Calling a module payments does not call.
      await expect(stranger.request(`${PREFIX}.call.inventory.getProduct`, JSON.stringify({ sku: 'KETTLE' }), { timeout: 1_000 })).rejects.toThrow();
      // Reading another module's event consumer.
      await expect(
        stranger.request(`$JS.API.CONSUMER.MSG.NEXT.${PREFIX}-events.notifications_order-outcomes_from_orders`, JSON.stringify({ batch: 1 }), { timeout: 1_000 }),
      ).rejects.toThrow();
      // Meanwhile the gateway's calls are answered by inventory as before.
      expect((await http(stores[1], 'GET', '/inventory/products/KETTLE')).status).toBe(200);
    } finally {
      await stranger.close();
    }
  });
});
