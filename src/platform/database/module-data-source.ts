import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataSource, type MigrationInterface } from 'typeorm';
import { GuardedClient } from './guarded-client.js';

/** Injection token of a module's own DataSource, visible only inside that module. */
export const MODULE_DATA_SOURCE = Symbol('MODULE_DATA_SOURCE');

/** The migrations table lives in the module's own schema, like everything else of it. */
export const MIGRATIONS_TABLE = 'migrations';

export interface ModuleDataSourceOptions {
  readonly module: string;
  readonly url: string;
  readonly entities: readonly Function[];
  readonly migrationsDir: string;
  /** Migrations the platform adds to every module, before the module's own (messaging tables). */
  readonly platformMigrations: readonly Function[];
  readonly poolSize: number;
}

/**
 * One TypeORM DataSource per module, connected as the module's own role, with
 * the module's schema as default and its own migrations folder.
 */
export async function createModuleDataSource(options: ModuleDataSourceOptions): Promise<DataSource> {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.module,
    entities: [...options.entities],
    migrations: [...options.platformMigrations, ...(await loadMigrations(options.migrationsDir))],
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'all',
    synchronize: false,
    // Failures surface as errors to the caller, who logs them in the structured log.
    logging: false,
    applicationName: `monolith-first:${options.module}`,
    extra: {
      max: options.poolSize,
      connectionTimeoutMillis: 5000,
      // Keep a dead server from pinning requests forever.
      query_timeout: 30_000,
      // Every pooled connection listens for its own loss: one checked out when the server restarts must not crash the process.
      Client: GuardedClient,
    },
  });
}

/** Every migration class exported from the files of `dir`, in file-name (timestamp) order. */
export async function loadMigrations(dir: string): Promise<Function[]> {
  if (!existsSync(dir)) return [];
  const files = (await readdir(dir)).filter((file) => /\.(ts|js)$/.test(file) && !/\.(d|spec|test)\.ts$/.test(file)).sort();
  const migrations: Function[] = [];
  for (const file of files) {
    const exported = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    for (const value of Object.values(exported)) {
      if (typeof value === 'function' && isMigration(value)) migrations.push(value);
    }
  }
  return migrations;
}

function isMigration(value: Function): boolean {
  const prototype = value.prototype as Partial<MigrationInterface> | undefined;
  return typeof prototype?.up === 'function' && typeof prototype?.down === 'function';
}
