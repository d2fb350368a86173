import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { adminQuery } from '../../tools/support/postgres-admin.js';
import { builtMain } from '../support/spawn-store.js';
import { createTestDatabase, serverUrl, type TestDatabase } from '../support/test-database.js';
import { http, startTestStore } from '../support/test-store.js';

const run = promisify(execFile);
const PROVISION = builtMain().replace(/main\.js$/, 'cli/provision.cli.js');

/**
 * `npm run provision` with the admin URL, once; then the store started with nothing but each
 * module's role URL (no DATABASE_URL, no admin) works, and a module still cannot touch
 * another's schema.
 */
describe('services with their role URL only', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database.drop();
  });

  it('provisions with admin rights, then serves with no admin URL', async () => {
    // The admin URL alone: the deployment's role secret is generated and kept in its database.
    const { stdout } = await run(process.execPath, [PROVISION], { env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.url } });
    const urls = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/=(.*)/s).slice(0, 2)),
    );
    expect(Object.keys(urls).sort()).toEqual([
      'INVENTORY_DATABASE_URL',
      'NOTIFICATIONS_DATABASE_URL',
      'ORDERS_DATABASE_URL',
      'PAYMENTS_DATABASE_URL',
      'SHIPPING_DATABASE_URL',
    ]);
    expect(decodeURIComponent(new URL(urls.INVENTORY_DATABASE_URL).username)).toBe(`${database.name}.inventory`);

    // No admin URL and no secret anywhere in this process.
    const store = await startTestStore({ DATABASE_URL: '', DB_ROLE_SECRET: '', ...urls }, { database });
    try {
      expect((await http(store, 'POST', '/inventory/products', { sku: 'KETTLE', name: 'Kettle', priceCents: 2599, stock: 10 })).status).toBe(201);
      expect((await http(store, 'GET', '/health')).status).toBe(200);
      const inventory = store.application.databases.get('inventory');
      expect((await inventory.query('SELECT current_user AS who'))[0].who).toBe(`${database.name}.inventory`);
      await expect(inventory.query('SELECT count(*) FROM orders.orders')).rejects.toThrow(/permission denied/);
      await expect(inventory.query('CREATE SCHEMA intruder')).rejects.toThrow(/permission denied/);
      await expect(inventory.query('CREATE ROLE intruder')).rejects.toThrow(/permission denied/);
      // Nor the deployment's role secret, which only the administrator reads.
      await expect(inventory.query('SELECT role_secret FROM "monolith-first".deployment')).rejects.toThrow(/permission denied/);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('refuses a start with a DB_ROLE_SECRET other than the one the deployment was provisioned with', async () => {
    // Its passwords would lock out the processes already running; nothing changes.
    await expect(startTestStore({ DB_ROLE_SECRET: 'not-this-deployments-secret' }, { database })).rejects.toThrow(
      /^DB_ROLE_SECRET: not the secret this deployment's module roles were provisioned with/,
    );
    const store = await startTestStore({}, { database });
    try {
      expect((await http(store, 'GET', '/inventory/products/KETTLE')).status).toBe(200);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('takes over a schema another role owns (a role of before ADR 22, `inventory_module`): its tables, and the database, are closed to it', async () => {
    const legacy = await createTestDatabase('mf_legacy');
    const oldRole = `${legacy.name}_inventory_module`;
    const admin = new pg.Client({ connectionString: legacy.url });
    await admin.connect();
    try {
      // With a password: a server that asks for one (the embedded PostgreSQL) must get past
      // authentication to the refusal this test is about.
      await admin.query(`CREATE ROLE ${oldRole} LOGIN PASSWORD 'legacy-password'`);
      await admin.query(`GRANT CONNECT ON DATABASE ${legacy.name} TO ${oldRole}`);
      await admin.query(`CREATE SCHEMA inventory AUTHORIZATION ${oldRole}`);
      await admin.query(`SET ROLE ${oldRole}`);
      await admin.query('CREATE TABLE inventory.kept (id serial PRIMARY KEY)');
      await admin.query('RESET ROLE');
      const store = await startTestStore({}, { database: legacy });
      try {
        expect((await http(store, 'POST', '/inventory/products', { sku: 'KETTLE', name: 'Kettle', priceCents: 2599, stock: 1 })).status).toBe(201);
        const owners = await admin.query("SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'inventory'::regnamespace");
        expect(owners.rows).toEqual([{ owner: `${legacy.name}.inventory` }]);
        const old = new URL(legacy.url);
        old.username = oldRole;
        old.password = 'legacy-password';
        const client = new pg.Client({ connectionString: old.toString() });
        client.on('error', () => {});
        await expect(client.connect()).rejects.toThrow(/permission denied for database|CONNECT privilege/);
      } finally {
        await store.close();
      }
    } finally {
      await admin.end();
      await legacy.drop();
      await adminQuery(serverUrl(), `DROP ROLE IF EXISTS ${oldRole}`);
    }
  }, 60_000);
});
