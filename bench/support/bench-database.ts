import { createFreshDatabase } from '../../tools/support/postgres-admin.js';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres.js';

export interface BenchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

export interface BenchServer {
  /** A fresh database on this server, dropped by its `drop`. */
  database(prefix: string): Promise<BenchDatabase>;
  /** Stops the server when this run started it. */
  stop(): Promise<void>;
}

/**
 * The Postgres server of a benchmark run: the one of DATABASE_URL when set,
 * else an embedded Postgres that lives as long as the run.
 */
export async function benchServer(): Promise<BenchServer> {
  let embedded: EmbeddedServer | undefined;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: '.data/bench-postgres', port: Number(process.env.BENCH_PG_PORT ?? 54331), relocatable: true });
    serverUrl = embedded.url;
  }
  const server = serverUrl;
  return {
    // Dropped with its deployment's module roles (they are cluster-wide).
    database: (prefix) => createFreshDatabase(server, prefix),
    stop: async () => {
      await embedded?.stop();
    },
  };
}

/** A fresh database for one benchmark run, on its own `benchServer`, which its `drop` also stops. */
export async function benchDatabase(prefix: string): Promise<BenchDatabase> {
  const server = await benchServer();
  let database: BenchDatabase;
  try {
    database = await server.database(prefix);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    url: database.url,
    drop: async () => {
      try {
        await database.drop();
      } finally {
        await server.stop();
      }
    },
  };
}
