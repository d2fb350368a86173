import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/free-port.js';
import { builtMain, runStoreToExit, spawnStore, stopAllStores } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http } from '../support/test-store.js';

/**
 * `.env` in the working directory, as a developer keeps local settings (.env.example lists them):
 * the built store reads it at start, and a variable of the real environment wins over it.
 */

const UNREACHABLE_DB = 'postgres://postgres@127.0.0.1:1/none';

let dir: string;
beforeAll(() => {
  builtMain();
  dir = mkdtempSync(join(tmpdir(), 'mf-env-file-'));
});
afterAll(async () => {
  await stopAllStores();
  rmSync(dir, { recursive: true, force: true });
});

it('reads .env: a bad value there stops the start with one line naming it', async () => {
  writeFileSync(join(dir, '.env'), 'MODULES=billing\n');
  const result = await runStoreToExit({ DATABASE_URL: UNREACHABLE_DB, ENV_FILE: undefined }, 20_000, { cwd: dir });
  expect(result.code).toBe(1);
  expect(result.stderr.trim()).toMatch(/^monolith-first: MODULES: unknown module 'billing'/);
}, 30_000);

it('the real environment wins over .env', async () => {
  writeFileSync(join(dir, '.env'), 'MODULES=billing\n');
  const result = await runStoreToExit({ DATABASE_URL: UNREACHABLE_DB, ENV_FILE: undefined, MODULES: 'nosuch' }, 20_000, { cwd: dir });
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/MODULES: unknown module 'nosuch'/);
  expect(result.stderr).not.toContain('billing');
}, 30_000);

it('ENV_FILE=none reads no .env', async () => {
  writeFileSync(join(dir, '.env'), 'MODULES=billing\n');
  const result = await runStoreToExit({ DATABASE_URL: UNREACHABLE_DB, DATABASE_STARTUP_WAIT_MS: '0', ENV_FILE: 'none' }, 20_000, { cwd: dir });
  expect(result.stderr).toMatch(/cannot reach the database/);
}, 30_000);

describe('a store configured by its .env alone', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('mf_env_file');
  });
  afterAll(async () => {
    await stopAllStores();
    await database?.drop();
  });

  it('takes DATABASE_URL and PORT from .env, serves, and SIGTERM exits 0', async () => {
    const port = await freePort();
    writeFileSync(join(dir, '.env'), `# local settings\nDATABASE_URL=${database.url}\nPORT=${port}\n`);
    const store = spawnStore({ DATABASE_URL: undefined, ENV_FILE: undefined, PORT: undefined }, { cwd: dir });
    expect(await store.port()).toBe(port);
    const base = { url: `http://127.0.0.1:${port}` };
    expect((await http(base, 'POST', '/inventory/products', { sku: 'ENV-1', name: 'Kettle', priceCents: 100, stock: 1 })).status).toBe(201);
    expect(await store.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 60_000);
});
