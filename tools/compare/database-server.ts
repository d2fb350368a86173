import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres.js';
import { createFreshDatabase, type FreshDatabase } from '../support/postgres-admin.js';
import { parentOf } from '../support/proc.js';

/**
 * The PostgreSQL server of a comparison: DATABASE_URL's when set, else an
 * embedded one started once for the whole run. Every topology gets a fresh
 * database of its own on it (the bench-database pattern).
 */
export interface DatabaseServer {
  /** 'DATABASE_URL' or 'embedded (port N)'. */
  readonly description: string;
  freshDatabase(prefix: string): Promise<FreshDatabase>;
  /** The server's postmaster pid when it runs on this machine (a backend's parent), for its CPU; else undefined. */
  postmasterPid(): Promise<number | undefined>;
  stop(): Promise<void>;
}

export type { FreshDatabase };

/**
 * `settings` (`-c name=value`) apply to an embedded server this starts; DATABASE_URL's server
 * keeps its own (a caller that needs one, say pg_stat_statements, checks for it).
 */
export async function startDatabaseServer(options: { settings?: Readonly<Record<string, string>> } = {}): Promise<DatabaseServer> {
  let embedded: EmbeddedServer | undefined;
  let serverUrl = process.env.DATABASE_URL;
  let description = 'DATABASE_URL';
  if (!serverUrl) {
    const port = Number(process.env.COMPARE_PG_PORT ?? 54332);
    // Under the system temp dir: run as root, Postgres runs as `postgres`, which may not enter the checkout.
    const dataDir = process.env.COMPARE_PG_DIR ?? join(tmpdir(), `monolith-first-compare-postgres-${port}`);
    embedded = await startEmbeddedPostgres({ dataDir, port, settings: options.settings });
    serverUrl = embedded.url;
    description = `embedded PostgreSQL (port ${port}, ${dataDir})`;
  }
  const server = serverUrl;
  return {
    description,
    freshDatabase: (prefix: string): Promise<FreshDatabase> => createFreshDatabase(server, prefix),
    async postmasterPid(): Promise<number | undefined> {
      const client = new pg.Client({ connectionString: server });
      await client.connect();
      try {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const host = new URL(server).hostname;
        if (!['127.0.0.1', 'localhost', '::1', '[::1]', ''].includes(host)) return undefined;
        const parent = parentOf(rows[0].pid);
        return parent !== undefined && parent > 1 ? parent : undefined;
      } finally {
        await client.end();
      }
    },
    stop: async () => {
      await embedded?.stop();
    },
  };
}
