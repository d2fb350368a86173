import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres.js';
import { createFreshDatabase, type FreshDatabase } from '../../tools/support/postgres-admin.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

/**
 * Two deployments (staging and production) whose databases share one PostgreSQL server
 * (topology.md): the second one's start changes nothing under the first, and neither's
 * module roles can open the other's database. On a server of this test's own with password
 * authentication (the shared test server trusts every local connection, so a password reset
 * would go unnoticed there).
 */
describe('two deployments on one PostgreSQL server', () => {
  let dataDir: string;
  let server: EmbeddedServer | undefined;
  const databases: FreshDatabase[] = [];
  const stores: TestStore[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mf-deployments-'));
    server = await startEmbeddedPostgres({ dataDir, port: await freePort() });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close().catch(() => {})));
    for (const database of databases) await database.drop().catch(() => {});
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function deployment(name: string, env: Record<string, string>): Promise<TestStore> {
    const database = await createFreshDatabase(server!.url, name);
    databases.push(database);
    const store = await startTestStore({ LOG_LEVEL: 'fatal', ...env }, { database });
    stores.push(store);
    return store;
  }

  async function confirmedCheckout(store: TestStore, sku: string): Promise<void> {
    expect((await http(store, 'POST', '/inventory/products', { sku, name: 'Kettle', priceCents: 2599, stock: 5 })).status).toBe(201);
    const placed = await http(store, 'POST', '/orders', {
      customerId: 'cust-42',
      items: [{ sku, quantity: 1 }],
      paymentToken: 'tok_visa',
      shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
    });
    expect(placed.status).toBe(202);
    await eventually(
      async () => {
        expect((await http(store, 'GET', `/orders/${placed.body.orderId}`)).body.status).toBe('CONFIRMED');
      },
      30_000,
      50,
    );
  }

  /** Opens a new connection as `url`'s user to `database` and reads `table` there. */
  async function read(url: string, database: string, table: string): Promise<unknown> {
    const target = new URL(url);
    target.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: target.toString() });
    client.on('error', () => {});
    try {
      await client.connect();
      return (await client.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
    } finally {
      await client.end().catch(() => {});
    }
  }

  it('both keep working after the second starts, and neither module role opens the other database', async () => {
    // Staging chose a role secret; production sets none (the admin URL alone).
    const staging = await deployment('mf_staging', { DB_ROLE_SECRET: 'staging-role-secret-0123456789abcdef' });
    await confirmedCheckout(staging, 'STAGING-1');
    const production = await deployment('mf_production', { DB_ROLE_SECRET: '' });

    // New connections of staging's modules still log in: production's start changed no password of theirs.
    for (const module of ['orders', 'inventory', 'payments', 'shipping', 'notifications']) {
      const url = staging.application.databases.connectionUrl(module);
      expect(await read(url, staging.database.name, `${module}.migrations`)).toBeGreaterThan(0);
    }
    await Promise.all([confirmedCheckout(staging, 'STAGING-2'), confirmedCheckout(production, 'PRODUCTION-1')]);

    // Distinct roles, and each one's database is closed to the other's.
    const stagingOrders = staging.application.databases.connectionUrl('orders');
    const productionOrders = production.application.databases.connectionUrl('orders');
    expect(new URL(stagingOrders).username).not.toBe(new URL(productionOrders).username);
    await expect(read(productionOrders, staging.database.name, 'orders.orders')).rejects.toThrow(/permission denied for database|CONNECT privilege/);
    await expect(read(stagingOrders, production.database.name, 'orders.orders')).rejects.toThrow(/permission denied for database|CONNECT privilege/);
    expect(await read(productionOrders, production.database.name, 'orders.orders')).toBe(1);
  }, 120_000);
});
