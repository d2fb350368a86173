import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyCheckout } from '../support/checkout-copy.js';
import { eventually } from '../support/eventually.js';
import { groupAlive, signalGroup, spawnStore, stopAllStores } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http } from '../support/test-store.js';

/**
 * `npm run start:dev` as a developer uses it, in a copy of the checkout: the store starts from the
 * sources, an edit to a source file is compiled and the store restarted with it, on its own, and
 * Ctrl-C stops everything. `dist/` is left alone (npm start, the tests and other terminals run it).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT = 240_000;
const SERVING = /"msg":"serving on port (\d+)( \(edited\))?:/g;

describe('npm run start:dev', () => {
  let dir: string;
  let checkout: string;
  let database: TestDatabase;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mf-start-dev-'));
    chmodSync(dir, 0o755);
    checkout = join(dir, 'monolith-first');
    copyCheckout(ROOT, checkout);
    database = await createTestDatabase('mf_start_dev');
  }, START_TIMEOUT);
  afterAll(async () => {
    await stopAllStores();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it(
    'serves from the sources, restarts with an edit, and stops on Ctrl-C',
    async () => {
      const dev = spawnStore({ DATABASE_URL: database.url }, { npm: true, detached: true, cwd: checkout, args: ['run', 'start:dev'] });
      const first = await dev.port(START_TIMEOUT);
      expect((await http({ url: `http://127.0.0.1:${first}` }, 'GET', '/health')).status).toBe(200);

      // An edit a developer makes: the line the store logs when it serves.
      const file = join(checkout, 'src/platform/application/store-application.ts');
      const source = readFileSync(file, 'utf8');
      expect(source).toContain('`serving on port ${port}: hosts');
      writeFileSync(file, source.replace('`serving on port ${port}: hosts', '`serving on port ${port} (edited): hosts'));

      const edited = await eventually(
        async () => {
          const servings = [...dev.stdout().matchAll(SERVING)];
          const last = servings.at(-1)!;
          expect(last[2]).toBe(' (edited)');
          return Number(last[1]);
        },
        START_TIMEOUT,
        200,
      );
      expect((await http({ url: `http://127.0.0.1:${edited}` }, 'GET', '/health')).status).toBe(200);
      expect(dev.stdout()).toContain('File change detected');

      signalGroup(dev, 'SIGINT');
      await dev.exited;
      await eventually(async () => expect(groupAlive(dev)).toBe(false), 30_000, 100);
      // The build the others run from was not touched: start:dev compiles into .dev/.
      expect(existsSync(join(checkout, 'dist'))).toBe(false);
      expect(readFileSync(join(checkout, '.dev/src/platform/application/store-application.js'), 'utf8')).toContain('(edited)');
    },
    START_TIMEOUT * 2,
  );
});
