import { randomBytes } from 'node:crypto';
import { cpSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { eventually } from '../support/eventually.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { builtMain, type SpawnedStore, spawnStore, stopAllStores } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const address = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };
const PUBLISHERS = ['inventory', 'orders', 'payments', 'shipping'];

interface Placed {
  readonly orderId: string;
  readonly status: string;
  readonly failureReason: string | null;
}

/**
 * Services deployed independently (topology.md), over the real JetStream: the
 * microservices topology runs without notifications; notifications is started
 * for the first time next to publishers that are never rebuilt nor restarted
 * for it, stopped, and brought back from a second copy of the build as two
 * replicas, while the process that publishes orders' events restarts. Every
 * order that ends after notifications' first start has exactly its
 * notifications, none twice; orders that ended before it have none.
 */
describeWithNats('a subscriber deployed independently of its publishers', () => {
  let database: TestDatabase;
  let secondBuild: string | undefined;
  const env: Record<string, string> = {
    NATS_URL,
    NATS_SUBJECT_PREFIX: `t${randomBytes(4).toString('hex')}`,
    SERVICE_TOKEN: randomBytes(16).toString('hex'),
    // The "serving on port N" line is at info: it tells each process's port.
    LOG_LEVEL: 'info',
    REMOTE_CALL_TIMEOUT_MS: '1000',
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    env.DATABASE_URL = database.url;
  });

  afterAll(async () => {
    await stopAllStores();
    await database?.drop();
    await deleteEventStream(NATS_URL, env.NATS_SUBJECT_PREFIX).catch(() => {});
    if (secondBuild) rmSync(secondBuild, { recursive: true, force: true });
  });

  const startProcess = async (modules: string, main?: string): Promise<{ store: SpawnedStore; url: string }> => {
    const store = spawnStore({ ...env, MODULES: modules, GATEWAY: modules === '' ? 'on' : 'off' }, { main });
    const port = await store.port(60_000);
    return { store, url: `http://127.0.0.1:${port}` };
  };

  it('gets every event published from its first start on, exactly once, across a stop, a second build and a publisher restart', async () => {
    const services = new Map<string, { store: SpawnedStore; url: string }>();
    for (const module of PUBLISHERS) services.set(module, await startProcess(module));
    const gateway = await startProcess('');
    const post = (path: string, body: unknown) =>
      fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // Retried until Inventory answers; a try that timed out at the gateway may still have created it (then 409).
    await eventually(
      async () => expect([201, 409]).toContain((await post('/inventory/products', { sku: 'KETTLE', name: 'Kettle', priceCents: 2599, stock: 100_000 })).status),
      20_000,
      200,
    );

    let n = 0;
    const checkouts = async (count: number): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        n++;
        const response = await post('/orders', {
          customerId: `cust-${n % 7}`,
          items: [{ sku: 'KETTLE', quantity: 1 }],
          // Every third one is declined: a cancellation to notify, too.
          paymentToken: n % 3 === 0 ? 'tok_declined' : 'tok_visa',
          shippingAddress: address,
        });
        expect(response.status).toBe(202);
        ids.push(((await response.json()) as { orderId: string }).orderId);
      }
      return ids;
    };
    const settled = async (ids: readonly string[]): Promise<Placed[]> =>
      eventually(
        async () => {
          const orders = await Promise.all(ids.map(async (id) => (await (await fetch(`${gateway.url}/orders/${id}`)).json()) as Placed));
          expect(orders.filter((order) => order.status === 'PENDING')).toEqual([]);
          return orders;
        },
        30_000,
        100,
      );

    // 1. Orders end before notifications exists: history it was never there for.
    const before = await settled(await checkouts(6));

    // 2. First deployment of notifications, next to publishers that know nothing of it.
    const notifications = [await startProcess('notifications')];
    const afterFirstStart = await settled(await checkouts(9));

    // 3. Down: the publishers go on; the events wait in the stream.
    for (const replica of notifications) await replica.store.stop();
    const whileDown = await settled(await checkouts(6));

    // 4. A second build (its own copy of the build output), as two replicas, while the
    //    process publishing orders' events restarts in the middle of the checkouts.
    secondBuild = join(ROOT, `.second-build-${randomBytes(3).toString('hex')}`);
    cpSync(realpathSync(join(ROOT, 'dist')), secondBuild, { recursive: true });
    const secondMain = join(secondBuild, 'src', 'main.js');
    expect(secondMain).not.toBe(builtMain());
    // Two replicas of the second build (stopAllStores stops them with the rest).
    await startProcess('notifications', secondMain);
    await startProcess('notifications', secondMain);
    const early = await checkouts(5);
    await services.get('orders')!.store.stop();
    services.set('orders', await startProcess('orders'));
    const late = await checkouts(5);
    const withReplicas = await settled([...early, ...late]);

    const expected = [...afterFirstStart, ...whileDown, ...withReplicas];
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const read = async () =>
        (
          await client.query<{ order_id: string; kind: string; reason: string | null }>(
            'SELECT order_id, kind, reason FROM notifications.notifications ORDER BY position',
          )
        ).rows;
      const rows = await eventually(
        async () => {
          const found = await read();
          expect(found.length).toBeGreaterThanOrEqual(expected.length);
          return found;
        },
        30_000,
        100,
      );
      // Exactly its notification for every order that ended after the first start, none twice.
      expect(rows.map((row) => row.order_id).sort()).toEqual(expected.map((order) => order.orderId).sort());
      for (const order of expected) {
        const mine = rows.filter((row) => row.order_id === order.orderId);
        expect(mine).toEqual([
          order.status === 'CONFIRMED'
            ? { order_id: order.orderId, kind: 'ORDER_CONFIRMED', reason: null }
            : { order_id: order.orderId, kind: 'ORDER_CANCELLED', reason: order.failureReason },
        ]);
      }
      for (const order of before) expect(rows.some((row) => row.order_id === order.orderId)).toBe(false);
      expect(expected.some((order) => order.status === 'CANCELLED')).toBe(true);
    } finally {
      await client.end();
    }
    // Both replicas serve the customer's list through the gateway.
    const listed = await fetch(`${gateway.url}/notifications?customerId=cust-1`);
    expect(listed.status).toBe(200);
  }, 240_000);
});
