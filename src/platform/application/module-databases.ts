import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { type AppConfig, databaseUrlFor, redactUrl } from '../config/app-config.js';
import { ConfigurationError } from '../config/configuration.error.js';
import { AddEventStreamTables1700000000001 } from '../messaging/event-stream.migration.js';
import { CreateMessagingTables1700000000000 } from '../messaging/messaging.migration.js';
import { CreateSagaTables1700000000002 } from '../sagas/saga.migration.js';
import { AddSagaOutputs1700000000003 } from '../sagas/saga-outputs.migration.js';
import { LighterEventWrites1700000000004 } from '../messaging/lighter-event-writes.migration.js';
import { UndeliveredQueue1700000000005 } from '../messaging/undelivered-queue.migration.js';
import { AddSagaReach1700000000006 } from '../sagas/saga-reach.migration.js';
import { AddSagaWaits1700000000009 } from '../sagas/saga-waits.migration.js';
import { LeasesAndGaps1700000000007 } from '../messaging/leases-and-gaps.migration.js';
import { AddSagaWatched1700000000030 } from '../sagas/saga-watched.migration.js';
import { AddSagaRunningIndex1700000000031 } from '../sagas/saga-running-index.migration.js';
import { ClaimFences1700000000008 } from '../messaging/claim-fences.migration.js';
import type { DiscoveredModule } from '../modules/module-definition.js';
import { type EmbeddedServer, startEmbeddedPostgres } from '../database/embedded-postgres.js';
import { createModuleDataSource } from '../database/module-data-source.js';
import { provisionModule } from '../database/provisioning.js';

/** Tables the platform keeps in every module's schema, migrated before the module's own. */
const PLATFORM_MIGRATIONS: readonly Function[] = [
  CreateMessagingTables1700000000000,
  AddEventStreamTables1700000000001,
  CreateSagaTables1700000000002,
  AddSagaOutputs1700000000003,
  LighterEventWrites1700000000004,
  UndeliveredQueue1700000000005,
  AddSagaReach1700000000006,
  LeasesAndGaps1700000000007,
  ClaimFences1700000000008,
  AddSagaWaits1700000000009,
  AddSagaWatched1700000000030,
  AddSagaRunningIndex1700000000031,
];

/**
 * The databases of the modules this process hosts: for each one, provisions
 * its role and schema, runs its migrations as that role, and keeps its
 * DataSource. Starts an embedded Postgres when a module has no URL.
 */
export class ModuleDatabases {
  private readonly logger = new Logger('Database');

  private constructor(
    private readonly sources: ReadonlyMap<string, DataSource>,
    private readonly urls: ReadonlyMap<string, string>,
    private readonly embedded: EmbeddedServer | undefined,
  ) {}

  static async open(config: AppConfig, hosted: readonly DiscoveredModule[]): Promise<ModuleDatabases> {
    const logger = new Logger('Database');
    let embedded: EmbeddedServer | undefined;
    const sources = new Map<string, DataSource>();
    const urls = new Map<string, string>();
    try {
      for (const { definition, migrationsDir } of hosted) {
        let adminUrl = databaseUrlFor(config, definition.name);
        if (adminUrl === undefined) {
          embedded ??= await startEmbeddedPostgres(config.embeddedPostgres);
          adminUrl = embedded.url;
        }
        const url = adminUrl;
        const { source, provisionedUrl, applied } = await waitingForTheDatabase(definition.name, url, config.databaseStartupWaitMs, logger, async () => {
          const provisioned = await reachable(definition.name, url, () => provisionModule(url, definition.name, config.dbRoleSecret));
          const opened = await createModuleDataSource({
            module: definition.name,
            url: provisioned.url,
            entities: definition.entities,
            migrationsDir,
            platformMigrations: PLATFORM_MIGRATIONS,
            poolSize: config.dbPoolSize,
          });
          try {
            await reachable(definition.name, url, () => opened.initialize());
            return {
              source: opened,
              provisionedUrl: provisioned.url,
              applied: await reachable(definition.name, url, () => migrateAlone(opened, definition.name)),
            };
          } catch (error) {
            await opened.destroy().catch(() => {});
            throw error;
          }
        });
        sources.set(definition.name, source);
        urls.set(definition.name, provisionedUrl);
        logger.log(
          `${definition.name}: schema '${definition.name}' ready as role '${new URL(provisionedUrl).username}'` +
            (applied.length > 0 ? `, applied ${applied.map((m) => m.name).join(', ')}` : ', migrations up to date'),
        );
      }
    } catch (error) {
      await Promise.all([...sources.values()].map((source) => source.destroy().catch(() => {})));
      await embedded?.stop().catch(() => {});
      throw error;
    }
    return new ModuleDatabases(sources, urls, embedded);
  }

  get(module: string): DataSource {
    const source = this.sources.get(module);
    if (!source) throw new Error(`module '${module}' is not hosted by this process`);
    return source;
  }

  /** The URL the module connects with, as its own role (for connections outside the pool, like LISTEN). */
  connectionUrl(module: string): string {
    const url = this.urls.get(module);
    if (!url) throw new Error(`module '${module}' is not hosted by this process`);
    return url;
  }

  async ping(module: string): Promise<boolean> {
    await this.get(module).query('SELECT 1');
    return true;
  }

  async close(): Promise<void> {
    await Promise.all([...this.sources.values()].map((source) => source.destroy().catch(() => {})));
    await this.embedded?.stop();
  }
}

/**
 * Runs a module's migrations while holding a lock on its database: processes that start together
 * on a fresh database (replicas, a topology brought up by hand) would otherwise create the same
 * tables at once, and all but one fail. The others then find the migrations applied.
 */
async function migrateAlone(source: DataSource, module: string): Promise<Array<{ name: string }>> {
  const runner = source.createQueryRunner();
  await runner.connect();
  try {
    await runner.query("SELECT pg_advisory_lock(hashtext('monolith-first:migrations:' || $1))", [module]);
    return await source.runMigrations({ transaction: 'all' });
  } finally {
    await runner.query("SELECT pg_advisory_unlock(hashtext('monolith-first:migrations:' || $1))", [module]).catch(() => {});
    await runner.release();
  }
}

/** Turns "the server is not there" into one line an operator can act on. */
async function reachable<T>(module: string, url: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const connectionProblem =
      code === 'ECONNREFUSED' ||
      code === 'ENOTFOUND' ||
      code === 'EAI_AGAIN' ||
      code === 'ETIMEDOUT' ||
      code === 'ECONNRESET' ||
      // The server shutting down or starting up (a restart, a failover): 57P01 admin shutdown, 57P03 cannot connect now.
      code === '57P01' ||
      code === '57P02' ||
      code === '57P03' ||
      code === '28P01' ||
      code === '28000' ||
      code === '3D000' ||
      /timeout|terminated|connect/i.test(message ?? '');
    if (!connectionProblem) throw error;
    const reason = code === '3D000' ? 'database does not exist' : code?.startsWith('28') ? 'authentication failed' : (message ?? code);
    const unreachable = new ConfigurationError(`cannot reach the database of module '${module}' at ${redactUrl(url)}: ${reason}`);
    // A server that refuses or drops connections may be restarting: worth waiting for. Not a wrong password or database.
    if (code !== '3D000' && !code?.startsWith('28')) TRANSIENT.add(unreachable);
    throw unreachable;
  }
}

/** Errors of `reachable` that a restarting server gives (and a stopped one: a start-up waits a while for either). */
const TRANSIENT = new WeakSet<object>();

/**
 * Runs `open` (provision, connect, migrate: each idempotent) until it succeeds, or fails otherwise than by a
 * database that refuses or drops connections, or `waitMs` has passed: a process started while its PostgreSQL
 * restarts (a deploy, the explorer's SIGKILL and restart overlapping a PostgreSQL restart) comes up when it is
 * back, instead of exiting. Said once when it starts waiting, with the variable that bounds it.
 */
async function waitingForTheDatabase<T>(module: string, url: string, waitMs: number, logger: Logger, open: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  let delayMs = 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (!TRANSIENT.has(error as object) || Date.now() + delayMs > deadline) throw error;
      if (attempt === 1) {
        logger.warn(
          `waiting for the database of module '${module}' at ${redactUrl(url)} (${(error as Error).message.replace(/^.*: /, '')}): up to ${Math.round(waitMs / 1000)} s, DATABASE_STARTUP_WAIT_MS`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(2_000, delayMs * 2);
    }
  }
}
