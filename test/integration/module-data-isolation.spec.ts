import pg from 'pg';
import { loadConfig } from '../../src/platform/config/app-config.js';
import { ModuleDatabases } from '../../src/platform/application/module-databases.js';
import { moduleRoleName } from '../../src/platform/database/provisioning.js';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import type { DiscoveredModule } from '../../src/platform/modules/module-definition.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * Each module owns its schema, and Postgres itself enforces it: a module's
 * role can reach nothing outside its own schema, whatever its code tries.
 */
describe('data owned per module, enforced by Postgres roles', () => {
  let database: TestDatabase;
  let modules: DiscoveredModule[];
  let databases: ModuleDatabases;
  const clients = new Map<string, pg.Client>();

  beforeAll(async () => {
    database = await createTestDatabase();
    modules = await discoverModules();
    const config = loadConfig(
      { DATABASE_URL: database.url, LOG_LEVEL: 'warn' },
      modules.map((m) => m.definition.name),
    );
    databases = await ModuleDatabases.open(config, modules);
    for (const { definition } of modules) {
      // As each module's own role of this deployment, on a connection of the test's own.
      const client = new pg.Client({ connectionString: databases.connectionUrl(definition.name) });
      await client.connect();
      clients.set(definition.name, client);
    }
  });

  afterAll(async () => {
    await Promise.all([...clients.values()].map((client) => client.end()));
    await databases?.close();
    await database?.drop();
  });

  const names = () => modules.map((m) => m.definition.name);
  const pairs = () =>
    names().flatMap((a) =>
      names()
        .filter((b) => b !== a)
        .map((b) => [a, b] as const),
    );

  it('has the five modules of the store, each with its own schema owned by its own role', async () => {
    expect(names()).toEqual(['inventory', 'notifications', 'orders', 'payments', 'shipping']);
    const owners = await clients
      .get('inventory')!
      .query<{ nspname: string; owner: string }>(
        `SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = ANY($1) ORDER BY nspname`,
        [names()],
      );
    expect(owners.rows).toEqual(names().map((name) => ({ nspname: name, owner: moduleRoleName(database.name, name) })));
  });

  it("denies every module's role any access to every other module's schema", async () => {
    for (const [reader, owner] of pairs()) {
      const client = clients.get(reader)!;
      // Every module has at least its migrations table in its schema.
      await expect(client.query(`SELECT count(*) FROM ${owner}.migrations`)).rejects.toThrow(`permission denied for schema ${owner}`);
      await expect(client.query(`CREATE TABLE ${owner}.intruder (id int)`)).rejects.toThrow(`permission denied for schema ${owner}`);
    }
    expect(pairs()).toHaveLength(20);
  });

  it("denies every module's role the public schema", async () => {
    for (const name of names()) {
      await expect(clients.get(name)!.query('CREATE TABLE public.shared_table (id int)')).rejects.toThrow('permission denied for schema public');
    }
  });

  it('lets a module use its own schema, which is its search_path', async () => {
    for (const name of names()) {
      const client = clients.get(name)!;
      expect((await client.query('SHOW search_path')).rows[0].search_path).toBe(name);
      await client.query('CREATE TEMP TABLE probe (id int)');
      const count = await client.query(`SELECT count(*)::int AS n FROM ${name}.migrations`);
      expect(count.rows[0].n).toBeGreaterThanOrEqual(0);
    }
  });

  it('has no foreign key, view or dependency that crosses schemas', async () => {
    const crossing = await clients.get('inventory')!.query(`
      SELECT c.conname
        FROM pg_constraint c
        JOIN pg_class s ON s.oid = c.conrelid
        JOIN pg_class t ON t.oid = c.confrelid
       WHERE c.contype = 'f' AND s.relnamespace <> t.relnamespace`);
    expect(crossing.rows).toEqual([]);
    const views = await clients.get('inventory')!.query(
      `
      SELECT DISTINCT v.relname
        FROM pg_depend d
        JOIN pg_rewrite r ON r.oid = d.objid
        JOIN pg_class v ON v.oid = r.ev_class
        JOIN pg_class t ON t.oid = d.refobjid
       WHERE v.relnamespace <> t.relnamespace AND t.relnamespace::regnamespace::text = ANY($1)`,
      [names()],
    );
    expect(views.rows).toEqual([]);
  });

  it('keeps a migrations table per module, in its own schema, and re-running migrations is a no-op', async () => {
    const before = new Map<string, number>();
    for (const name of names()) {
      const rows = await clients.get(name)!.query(`SELECT count(*)::int AS n FROM ${name}.migrations`);
      before.set(name, rows.rows[0].n);
    }
    const config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'warn' }, names());
    const again = await ModuleDatabases.open(config, modules);
    try {
      for (const name of names()) {
        const pending = await again.get(name).showMigrations();
        expect(pending).toBe(false);
        const rows = await clients.get(name)!.query(`SELECT count(*)::int AS n FROM ${name}.migrations`);
        expect(rows.rows[0].n).toBe(before.get(name));
      }
    } finally {
      await again.close();
    }
  });
});
