import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { startSkipRecording } from './skipped-suites.js';
import { DATA_DIR_PREFIX, removeDataDirsOfGoneCheckouts } from './test-data-dirs.js';

/**
 * Tests always run against a real PostgreSQL: the one named by DATABASE_URL
 * (CI here has one), or else an embedded one started here for the whole run.
 * Jest loads this file natively, untransformed, so it uses the build
 * (`npm test` builds first) rather than the TypeScript sources.
 */
export default async function globalSetup() {
  startSkipRecording();
  // A developer's .env (local settings for `npm start`) is not the tests' business: every store,
  // CLI and topology a test starts inherits this and reads no .env unless the test asks for one.
  process.env.ENV_FILE ??= 'none';
  // No DB_ROLE_SECRET: every test store's deployment (its fresh database) generates and keeps its
  // own role secret, as a user's `DATABASE_URL` alone does (topology.md).
  if (process.env.DATABASE_URL) {
    console.log('\n[test] PostgreSQL: DATABASE_URL');
    return;
  }
  const built = new URL('../../dist/src/platform/database/embedded-postgres.js', import.meta.url);
  if (!existsSync(built)) throw new Error('no build found: run `npm test` (it builds first) or `npm run build`');
  const { startEmbeddedPostgres } = await import(built.href);
  // A free port and a data directory per checkout: two checkouts' runs on one machine never meet;
  // two runs of one checkout share its server (the last one to finish stops it).
  const port = process.env.TEST_EMBEDDED_PG_PORT ? Number(process.env.TEST_EMBEDDED_PG_PORT) : await freePort();
  const checkout = createHash('sha256')
    .update(fileURLToPath(new URL('../../', import.meta.url)))
    .digest('hex')
    .slice(0, 12);
  Logger.overrideLogger(['error', 'warn']);
  // Under the system temp dir, not the checkout: when tests run as root, Postgres runs as the
  // `postgres` user and cannot enter a checkout under a private directory such as /root.
  const dataDir = process.env.TEST_EMBEDDED_PG_DIR ?? join(tmpdir(), `${DATA_DIR_PREFIX}${checkout}`);
  if (!process.env.TEST_EMBEDDED_PG_DIR) {
    removeDataDirsOfGoneCheckouts(tmpdir());
    // Which checkout the directory serves: once that checkout is gone, the next run of any removes it.
    writeFileSync(`${dataDir}.checkout`, fileURLToPath(new URL('../../', import.meta.url)));
  }
  const server = await startEmbeddedPostgres({ dataDir, port });
  process.env.DATABASE_URL = server.url;
  globalThis.__embeddedPostgres = server;
  console.log(
    `\n[test] PostgreSQL: embedded, ${new URL(server.url).port === String(port) ? '' : 're-used, '}port ${new URL(server.url).port}, data ${dataDir} (no DATABASE_URL)`,
  );
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
