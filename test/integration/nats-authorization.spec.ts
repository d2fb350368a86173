import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { authorizationConfig, generatePassword, type NatsServiceUser } from '../../src/platform/transport/nats-authorization.js';
import { freePort } from '../../tools/support/free-port.js';
import { eventually } from '../support/eventually.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

const NATS_SERVER = '/usr/sbin/nats-server';
const PREFIX = 'mf';
const OBSERVER_PASSWORD = generatePassword();

/**
 * NATS's own authorization, from the generated configuration (npm run nats-auth), on a
 * nats-server of this test's own: the services work with their users and no service token;
 * a client without credentials cannot connect, and one with another service's credentials
 * can neither read a module's calls or replies nor answer in its place. Each user may call
 * only the operations its code declares (the gateway what HTTP exposes), answers go only to
 * inboxes, and a consumer can be created only with its own filter. An `observer` user with
 * every right (not generated: added by this test) watches what the services could not see.
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
      { user: 'main', modules: ['orders', 'shipping', 'notifications'], gateway: false },
      { user: 'payments', modules: ['payments'], gateway: false },
      { user: 'gateway', modules: [], gateway: true },
    ].map((u) => ({ ...u, password: generatePassword() }));
    dir = mkdtempSync(join(tmpdir(), 'mf-nats-auth-'));
    const observer = `    { user: "observer", password: ${JSON.stringify(OBSERVER_PASSWORD)} }`;
    writeFileSync(join(dir, 'server.conf'), authorizationConfig(users, modules, PREFIX).replace('users = [\n', `users = [\n${observer}\n`));
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
    stores.push(await startTestStore({ MODULES: 'payments', GATEWAY: 'off', NATS_URL: url, ...credentials('payments') }, { database }));
    stores.push(await startTestStore({ MODULES: 'orders,shipping,notifications', GATEWAY: 'off', NATS_URL: url, ...credentials('main') }, { database }));
    const gateway = await startTestStore({ MODULES: '', NATS_URL: url, ...credentials('gateway') }, { database });
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
    const stranger: NatsConnection = await connect({
      servers: url,
      user: 'payments',
      pass: credentials('payments').NATS_PASSWORD,
      inboxPrefix: `_INBOX.${PREFIX}.payments`,
    });
    try {
      const denied = async (subject: string) => {
        const subscription = stranger.subscribe(subject);
        const outcome = await subscription.closed;
        return outcome instanceof Error ? outcome.message : 'subscribed';
      };
      // Reading inventory's calls (and so answering them in its place), or the gateway's replies.
      expect(await denied(`${PREFIX}.call.inventory.*`)).toMatch(/permission/i);
      expect(await denied(`_INBOX.${PREFIX}.main.>`)).toMatch(/permission/i);
      expect(await denied('_INBOX.main.>')).toMatch(/permission/i);
      expect(await denied('_INBOX.>')).toMatch(/permission/i);
      // Calling a module payments does not call.
      await expect(stranger.request(`${PREFIX}.call.inventory.getProduct`, JSON.stringify({ sku: 'KETTLE' }), { timeout: 1_000 })).rejects.toThrow();
      // Reading another module's event consumer.
      await expect(
        stranger.request(`$JS.API.CONSUMER.MSG.NEXT.${PREFIX}-events.notifications_order-outcomes_from_orders`, JSON.stringify({ batch: 1 }), {
          timeout: 1_000,
        }),
      ).rejects.toThrow();
      // Meanwhile the gateway's calls are answered by inventory as before.
      expect((await http(gateway(), 'GET', '/inventory/products/KETTLE')).status).toBe(200);
    } finally {
      await stranger.close();
    }
  });

  const gateway = () => stores.at(-1)!;
  const connectAs = (user: string) =>
    connect({ servers: url, user, pass: credentials(user).NATS_PASSWORD, inboxPrefix: `_INBOX.${PREFIX}.${user}`, timeout: 2_000 });

  it('lets the gateway call what the HTTP API exposes, and nothing else (refundPayment)', async () => {
    const gatewayUser = await connectAs('gateway');
    try {
      // getPayment is behind GET /payments/{id}: answered (NOT_FOUND) by payments.
      const found = JSON.parse(
        (await gatewayUser.request(`${PREFIX}.call.payments.getPayment`, JSON.stringify({ paymentId: 'nope' }), { timeout: 2_000 })).string(),
      );
      expect(found).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      // Only the checkout saga refunds or charges: the gateway's user may not even send them.
      await expect(gatewayUser.request(`${PREFIX}.call.payments.refundPayment`, JSON.stringify({ orderId: 'o1' }), { timeout: 1_000 })).rejects.toThrow();
      await expect(gatewayUser.request(`${PREFIX}.call.payments.chargePayment`, JSON.stringify({ orderId: 'o1' }), { timeout: 1_000 })).rejects.toThrow();
      await expect(
        gatewayUser.request(`${PREFIX}.call.inventory.reserveStock`, JSON.stringify({ orderId: 'o1', items: [] }), { timeout: 1_000 }),
      ).rejects.toThrow();
    } finally {
      await gatewayUser.close();
    }
  });

  it("lets the gateway (its operator console) ask each module's process about its sagas and outbox, and no other service (ADR 40)", async () => {
    const gatewayUser = await connectAs('gateway');
    const payments = await connectAs('payments');
    try {
      // Answered by the process that hosts orders (the main user), from its own database.
      const overview = JSON.parse((await gatewayUser.request(`${PREFIX}.operate.orders`, JSON.stringify({ op: 'overview' }), { timeout: 5_000 })).string());
      expect(overview).toMatchObject({ ok: true, result: { module: 'orders', outbox: { dead: 0 } } });
      const roll = [];
      for await (const reply of await gatewayUser.requestMany(`${PREFIX}.instances.inventory`, 'null', { maxWait: 1_000 }))
        roll.push(JSON.parse(reply.string()));
      expect(roll).toEqual([{ ok: true, result: expect.objectContaining({ hosts: ['inventory'], gateway: false }) }]);
      // A module's user may neither act on another module's sagas nor answer in its place.
      await expect(payments.request(`${PREFIX}.operate.inventory`, JSON.stringify({ op: 'replay' }), { timeout: 1_000 })).rejects.toThrow();
      const subscription = payments.subscribe(`${PREFIX}.operate.inventory`);
      expect(String(await subscription.closed)).toMatch(/permission/i);
    } finally {
      await gatewayUser.close();
      await payments.close();
    }
  });

  it('answers only into inboxes: a request naming a foreign reply subject gets no answer there', async () => {
    const observer = await connect({ servers: url, user: 'observer', pass: OBSERVER_PASSWORD });
    const gatewayUser = await connectAs('gateway');
    try {
      const jsm = await jetstreamManager(observer);
      const stored = (await jsm.streams.info(`${PREFIX}-events`)).state.messages;
      expect(stored).toBeGreaterThan(0);
      const landed: string[] = [];
      const watch = observer.subscribe('observed.>', { callback: (_, message) => void landed.push(message.subject) });
      await observer.flush();
      // The gateway's user aims inventory's answers at the stream's purge, and at a subject somebody reads.
      for (const reply of [`$JS.API.STREAM.PURGE.${PREFIX}-events`, 'observed.reply', `${PREFIX}.call.payments.refundPayment`]) {
        gatewayUser.publish(`${PREFIX}.call.inventory.getProduct`, JSON.stringify({ sku: 'KETTLE' }), { reply, headers: natsHeaders() });
      }
      // Then asks properly: by its answer, inventory has taken the three before it (one subscription, in order).
      expect(
        JSON.parse((await gatewayUser.request(`${PREFIX}.call.inventory.getProduct`, JSON.stringify({ sku: 'KETTLE' }), { timeout: 2_000 })).string()),
      ).toMatchObject({
        ok: true,
      });
      await observer.flush();
      expect(landed).toEqual([]);
      expect((await jsm.streams.info(`${PREFIX}-events`)).state.messages).toBe(stored);
      watch.unsubscribe();
    } finally {
      await gatewayUser.close();
      await observer.close();
    }
  });

  it("refuses a consumer with another module's filter, under any of JetStream's creation subjects", async () => {
    const main = await connectAs('main');
    try {
      const stream = `${PREFIX}-events`;
      const consumer = 'notifications_order-outcomes_from_orders';
      const config = (filter: string) =>
        JSON.stringify({ stream_name: stream, config: { durable_name: consumer, filter_subject: filter, ack_policy: 'explicit' } });
      const foreign = `${PREFIX}.events.payments.>`;
      for (const subject of [
        `$JS.API.CONSUMER.CREATE.${stream}.${consumer}.${foreign}`,
        `$JS.API.CONSUMER.CREATE.${stream}.${consumer}`,
        `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${consumer}`,
        `$JS.API.CONSUMER.CREATE.${stream}`,
      ]) {
        await expect(main.request(subject, config(foreign), { timeout: 1_000 }).then((m) => m.string())).rejects.toThrow();
      }
    } finally {
      await main.close();
    }
  });
});
