import { Logger } from '@nestjs/common';
import { loadConfig } from '../../src/platform/config/app-config.js';
import { ModuleDatabases } from '../../src/platform/application/module-databases.js';
import type { DiscoveredModule } from '../../src/platform/modules/module-definition.js';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * The run-time half of verify's data rules (entity schemas, foreign schemas in
 * raw SQL): what the checker flags statically, Postgres refuses anyway. A
 * module's own DataSource — the one its code is given — cannot read, write or
 * lock another module's tables, nor reach them through its entities' metadata.
 */
describe("a module's DataSource and another module's tables", () => {
  let database: TestDatabase;
  let modules: DiscoveredModule[];
  let databases: ModuleDatabases;
  const tables = new Map<string, string[]>();

  beforeAll(async () => {
    Logger.overrideLogger(['error', 'warn']);
    database = await createTestDatabase();
    modules = await discoverModules();
    const config = loadConfig(
      { DATABASE_URL: database.url, LOG_LEVEL: 'warn', DB_ROLE_SECRET: process.env.DB_ROLE_SECRET },
      modules.map((m) => m.definition.name),
    );
    databases = await ModuleDatabases.open(config, modules);
    for (const { definition } of modules) {
      // Each module lists its own tables: only it may see them.
      const rows: { table_name: string }[] = await databases
        .get(definition.name)
        .query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [definition.name]);
      tables.set(
        definition.name,
        rows.map((row) => row.table_name),
      );
    }
  });

  afterAll(async () => {
    await databases?.close();
    await database?.drop();
  });

  const pairs = () => modules.flatMap((a) => modules.filter((b) => b !== a).map((b) => [a.definition.name, b.definition.name] as const));

  it("gets `permission denied` for every query of every other module's table", async () => {
    let tried = 0;
    for (const [reader, owner] of pairs()) {
      const source = databases.get(reader);
      for (const table of tables.get(owner)!) {
        for (const sql of [
          `SELECT * FROM ${owner}.${table} LIMIT 1`,
          `SELECT * FROM "${owner}"."${table}" LIMIT 1`,
          `DELETE FROM ${owner}.${table}`,
          `LOCK TABLE ${owner}.${table}`,
        ]) {
          await expect(source.transaction((manager) => manager.query(sql))).rejects.toThrow(`permission denied for schema ${owner}`);
          tried++;
        }
      }
    }
    expect(tried).toBeGreaterThan(0);
  });

  it("gets `permission denied` when it uses another module's entities", async () => {
    for (const [reader, owner] of pairs()) {
      for (const entity of module(owner).definition.entities) {
        const metadata = databases.get(owner).getMetadata(entity);
        await expect(databases.get(reader).query(`SELECT count(*) FROM ${metadata.schema}.${metadata.tableName}`)).rejects.toThrow(
          `permission denied for schema ${owner}`,
        );
      }
    }
  });

  it('still reads its own tables', async () => {
    for (const { definition } of modules) {
      for (const table of tables.get(definition.name)!) {
        await expect(databases.get(definition.name).query(`SELECT count(*) FROM ${definition.name}.${table}`)).resolves.toBeDefined();
      }
    }
  });

  const module = (name: string) => modules.find((m) => m.definition.name === name)!;
});
