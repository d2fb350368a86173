import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';

/**
 * Tests always run against a real PostgreSQL: the one named by DATABASE_URL
 * (CI here has one), or else an embedded one started here for the whole run.
 * Jest loads this file natively, untransformed, so it uses the build
 * (`npm test` builds first) rather than the TypeScript sources.
 */
export default async function globalSetup() {
  if (process.env.DATABASE_URL) {
    console.log('\n[test] PostgreSQL: DATABASE_URL');
    return;
  }
  const built = new URL('../../dist/src/platform/database/embedded-postgres.js', import.meta.url);
  if (!existsSync(built)) throw new Error('no build found: run `npm test` (it builds first) or `npm run build`');
  const { startEmbeddedPostgres } = await import(built.href);
  const port = Number(process.env.TEST_EMBEDDED_PG_PORT ?? 54330);
  Logger.overrideLogger(['error', 'warn']);
  // Under the system temp dir, not the checkout: when tests run as root, Postgres runs as the
  // `postgres` user and cannot enter a checkout under a private directory such as /root.
  const dataDir = process.env.TEST_EMBEDDED_PG_DIR ?? join(tmpdir(), `monolith-first-test-postgres-${port}`);
  const server = await startEmbeddedPostgres({ dataDir, port });
  process.env.DATABASE_URL = server.url;
  globalThis.__embeddedPostgres = server;
  console.log(`\n[test] PostgreSQL: embedded, port ${port} (no DATABASE_URL)`);
}
