import { existsSync } from 'node:fs';
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
  const server = await startEmbeddedPostgres({ dataDir: '.data/test-postgres', port });
  process.env.DATABASE_URL = server.url;
  globalThis.__embeddedPostgres = server;
  console.log(`\n[test] PostgreSQL: embedded, port ${port} (no DATABASE_URL)`);
}
