import { randomBytes } from 'node:crypto';
import { adminQuery } from '../../tools/support/postgres-admin.js';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres.js';

export interface BenchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database for one benchmark run: on the server of DATABASE_URL when
 * set, else on an embedded Postgres that lives as long as the run.
 */
export async function benchDatabase(prefix: string): Promise<BenchDatabase> {
  // Module role passwords derive from a secret, never from a constant: a throwaway one per run
  // when none is given (the stores this run spawns inherit it).
  process.env.DB_ROLE_SECRET ??= randomBytes(16).toString('hex');
  let embedded: EmbeddedServer | undefined;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: '.data/bench-postgres', port: Number(process.env.BENCH_PG_PORT ?? 54331) });
    serverUrl = embedded.url;
  }
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await embedded?.stop();
    },
  };
}
