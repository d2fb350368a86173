import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { eventually } from '../support/eventually.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { spawnStore, stopAllStores, type SpawnedStore } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

/**
 * Two replicas of Inventory over the real NATS server, one killed (SIGKILL) under load: the
 * other one takes every call, and no request gets a 503. A timeout is a fact about one
 * member of the queue group, not about the module.
 */
describeWithNats('a replica killed under load', () => {
  let database: TestDatabase;
  let gateway: TestStore | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = {
      NATS_URL,
      NATS_SUBJECT_PREFIX: `t${randomBytes(4).toString('hex')}`,
      SERVICE_TOKEN: randomBytes(16).toString('hex'),
      REMOTE_CALL_TIMEOUT_MS: '1000',
    };
  });

  afterAll(async () => {
    await gateway?.close().catch(() => {});
    await stopAllStores();
    await database.drop();
    await deleteEventStream(NATS_URL, env.NATS_SUBJECT_PREFIX);
  });

  it('costs no 503 while another replica is up', async () => {
    const replica = () => spawnStore({ ...env, DATABASE_URL: database.url, MODULES: 'inventory', GATEWAY: 'off', LOG_LEVEL: 'info' });
    const replicas: SpawnedStore[] = [replica(), replica()];
    await Promise.all(replicas.map((r) => r.port()));
    gateway = await startTestStore({ ...env, MODULES: 'orders,payments,shipping,notifications' }, { database });
    const created = await http(gateway, 'POST', '/inventory/products', { sku: 'KETTLE', name: 'Kettle', priceCents: 2599, stock: 10 });
    expect(created.status).toBe(201);
    // Both replicas answer (the queue group spreads the calls) before one is killed.
    await eventually(async () => {
      for (let i = 0; i < 20; i++) expect((await http(gateway!, 'GET', '/inventory/products/KETTLE')).status).toBe(200);
      for (const r of replicas) expect(r.stdout()).toMatch(/handled message/);
    });

    const statuses = new Map<number, number>();
    const refusals: unknown[] = [];
    let afterKill = 0;
    let killed = false;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const response = await http(gateway!, 'GET', '/inventory/products/KETTLE');
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status !== 200 && refusals.length < 5) refusals.push(response.body);
        if (killed) afterKill++;
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await eventually(async () => expect(statuses.get(200) ?? 0).toBeGreaterThan(100));
    await replicas[0].stop('SIGKILL');
    killed = true;
    // Long enough for the calls the dead replica had in hand to time out and be retried elsewhere.
    await eventually(async () => expect(afterKill).toBeGreaterThan(300), 20_000);
    stop = true;
    await Promise.all(workers);
    expect(refusals).toEqual([]);
    expect(Object.fromEntries(statuses)).toEqual({ 200: expect.any(Number) });
    expect(replicas[1].stdout()).toMatch(/handled message/);
  }, 60_000);
});
