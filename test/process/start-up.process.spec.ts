import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptsConnections } from '../support/accepts-connections.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import {
  builtMain,
  postmasterPid,
  groupAlive,
  runStoreToExit,
  signalGroup,
  type SpawnedStore,
  spawnStore,
  stopAllStores,
  stopPostgresIn,
} from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http } from '../support/test-store.js';

/**
 * The built store as a user runs it (`npm start` = `node dist/src/main.js`):
 * configuration errors, the embedded Postgres of a fresh machine, an external
 * DATABASE_URL, signals, and a restart after a SIGKILL.
 */

/** Port 1 on loopback refuses connections: a database that is certainly not there. */
const UNREACHABLE_DB = 'postgres://postgres@127.0.0.1:1/none';
const EMBEDDED_START_TIMEOUT = 120_000;

beforeAll(() => {
  builtMain(); // fails the file with "run npm run build" rather than a spawn error per test
});
afterAll(stopAllStores);

describe('bad configuration fails fast with one line on stderr', () => {
  // A valid but unreachable DATABASE_URL unless the case sets its own: should a bad
  // variable ever be accepted, the process fails on the database instead of starting
  // an embedded Postgres on the developer's default port.
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['PORT=abc', { PORT: 'abc' }, /PORT/],
    ['PORT=70000', { PORT: '70000' }, /PORT/],
    ['MODULES=billing', { MODULES: 'billing' }, /MODULES.*billing/],
    ['GATEWAY=maybe', { GATEWAY: 'maybe' }, /GATEWAY/],
    ['DATABASE_URL=mysql://x/y', { DATABASE_URL: 'mysql://x/y' }, /DATABASE_URL/],
  ];

  it.each(cases)(
    '%s',
    async (_, env, mentions) => {
      const result = await runStoreToExit({ DATABASE_URL: UNREACHABLE_DB, DATABASE_STARTUP_WAIT_MS: '0', ...env });
      expectOneLineFailure(result);
      expect(result.stderr).toMatch(mentions);
    },
    30_000,
  );

  it('an unreachable database, without echoing its password', async () => {
    const result = await runStoreToExit({ DATABASE_URL: 'postgres://postgres:s3cret-pw@127.0.0.1:1/none', DATABASE_STARTUP_WAIT_MS: '1000' });
    expectOneLineFailure(result);
    expect(result.stderr).toMatch(/cannot reach the database/);
    expect(result.stderr + result.stdout).not.toContain('s3cret-pw');
  }, 30_000);

  // Root runs Postgres as 'postgres', which a mode-700 directory (mkdtemp's, /root's) shuts out.
  (process.getuid?.() === 0 ? it : it.skip)(
    'an EMBEDDED_PG_DIR the postgres user cannot reach',
    async () => {
      const closed = mkdtempSync(join(tmpdir(), 'mf-closed-'));
      try {
        const result = await runStoreToExit(
          { DATABASE_URL: undefined, EMBEDDED_PG_DIR: join(closed, 'postgres'), EMBEDDED_PG_PORT: String(await freePort()) },
          60_000,
        );
        expectOneLineFailure(result);
        expect(result.stderr).toMatch(/EMBEDDED_PG_DIR: .*cannot reach/);
      } finally {
        rmSync(closed, { recursive: true, force: true });
      }
    },
    90_000,
  );

  function expectOneLineFailure(result: { code: number | null; stderr: string }): void {
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^monolith-first: /);
    expect(result.stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(result.code).toBe(1);
  }
});

describe('without DATABASE_URL: the embedded Postgres of a fresh machine', () => {
  let dir: string;
  let dataDir: string;
  let pgPort: number;

  beforeAll(async () => {
    dir = tempDir();
    dataDir = join(dir, 'postgres');
    pgPort = await freePort();
  });
  afterAll(async () => {
    await stopAllStores();
    await stopPostgresIn(dataDir);
    rmSync(dir, { recursive: true, force: true });
  });

  // DATABASE_URL is unset explicitly: jest's global setup may have put one in process.env.
  const env = () => ({ DATABASE_URL: undefined, EMBEDDED_PG_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort) });

  it(
    'cold start: initialises a cluster, serves /health, and SIGTERM stops both',
    async () => {
      const store = spawnStore(env());
      await expectHealthy(await store.port(EMBEDDED_START_TIMEOUT));
      expect(store.stdout()).toContain('initialising a new PostgreSQL cluster');
      expect(postmasterPid(dataDir)).toBeDefined();

      expect(await store.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      await expectPostgresStopped(dataDir, pgPort);
    },
    EMBEDDED_START_TIMEOUT,
  );

  // The tests below re-use the cluster the cold start made.
  it(
    'warm start on the same directory: no initdb, healthy, stops cleanly',
    async () => {
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
      const store = spawnStore(env());
      await expectHealthy(await store.port(EMBEDDED_START_TIMEOUT));
      expect(store.stdout()).not.toContain('initialising a new PostgreSQL cluster');

      expect(await store.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      await expectPostgresStopped(dataDir, pgPort);
    },
    EMBEDDED_START_TIMEOUT,
  );

  it(
    'Ctrl-C at a terminal (SIGINT to its whole process group) stops the store, then its Postgres, with no warning',
    async () => {
      const store = spawnStore(env(), { detached: true });
      await expectHealthy(await store.port(EMBEDDED_START_TIMEOUT));
      // Postgres runs in a session of its own: the terminal's signal reaches the store only,
      // which drains and then stops the database (no "LISTEN connection lost" under it).
      signalGroup(store, 'SIGINT');
      expect(await store.stop('SIGINT')).toEqual({ code: 0, signal: null });
      expect(warnings(store)).toEqual([]);
      await expectPostgresStopped(dataDir, pgPort);
    },
    EMBEDDED_START_TIMEOUT,
  );

  it(
    'stops cleanly even when its Postgres has already gone (stopped by hand or crashed)',
    async () => {
      const store = spawnStore(env());
      await expectHealthy(await store.port(EMBEDDED_START_TIMEOUT));
      await stopPostgresIn(dataDir);
      expect(await store.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      await expectPostgresStopped(dataDir, pgPort);
    },
    EMBEDDED_START_TIMEOUT,
  );
});

describe('with DATABASE_URL: an external Postgres', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('mf_process');
  });
  afterAll(async () => {
    await stopAllStores();
    await database?.drop();
  });

  it('serves /health and the inventory API, and SIGTERM exits 0', async () => {
    const store = spawnStore({ DATABASE_URL: database.url });
    const port = await store.port();
    await expectHealthy(port);

    const base = { url: `http://127.0.0.1:${port}` };
    const kettle = { sku: 'SKU-1', name: 'Kettle', priceCents: 2599, stock: 10 };
    expect((await http(base, 'POST', '/inventory/products', kettle)).status).toBe(201);
    const read = await http(base, 'GET', '/inventory/products/SKU-1');
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ sku: 'SKU-1', name: 'Kettle', priceCents: 2599, onHand: 10, reserved: 0, available: 10 });

    expect(await store.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  // topology.md: an admin URL without a password works as written, with no other variable.
  it('with DATABASE_URL alone (no DB_ROLE_SECRET, whatever the URL), places and confirms an order', async () => {
    const only = await createTestDatabase('mf_process_alone');
    try {
      const store = spawnStore({ DATABASE_URL: only.url, DB_ROLE_SECRET: undefined });
      const base = { url: `http://127.0.0.1:${await store.port()}` };
      expect((await http(base, 'POST', '/inventory/products', { sku: 'SKU-1', name: 'Kettle', priceCents: 2599, stock: 10 })).status).toBe(201);
      const placed = await http(base, 'POST', '/orders', {
        customerId: 'cust-42',
        items: [{ sku: 'SKU-1', quantity: 2 }],
        paymentToken: 'tok_visa',
        shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
      });
      expect(placed.status).toBe(202);
      await eventually(
        async () => {
          expect((await http(base, 'GET', `/orders/${placed.body.orderId}`)).body.status).toBe('CONFIRMED');
        },
        30_000,
        50,
      );
      expect(await store.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      await only.drop();
    }
  }, 90_000);
});

describe('after a SIGKILL: the orphaned embedded Postgres', () => {
  let dir: string;
  let dataDir: string;
  let pgPort: number;

  beforeAll(async () => {
    dir = tempDir();
    dataDir = join(dir, 'postgres');
    pgPort = await freePort();
  });
  afterAll(async () => {
    await stopAllStores();
    await stopPostgresIn(dataDir);
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'is re-used by the next start on the same directory',
    async () => {
      const env = { DATABASE_URL: undefined, EMBEDDED_PG_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort) };
      const killed = spawnStore(env);
      await killed.port(EMBEDDED_START_TIMEOUT);
      expect(await killed.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
      // No chance to clean up: its Postgres lives on.
      const orphan = postmasterPid(dataDir);
      expect(orphan).toBeDefined();

      const again: SpawnedStore = spawnStore(env);
      await expectHealthy(await again.port(EMBEDDED_START_TIMEOUT));
      expect(again.stdout()).toContain('re-using the PostgreSQL already running');
      expect(postmasterPid(dataDir)).toBe(orphan);
      // The killed process no longer uses it: the last one to stop stops it, whoever started it.
      expect(await again.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      await expectPostgresStopped(dataDir, pgPort);
    },
    EMBEDDED_START_TIMEOUT * 2,
  );
});

describe('several processes without DATABASE_URL share one embedded Postgres', () => {
  let dir: string;
  let dataDir: string;
  let pgPort: number;

  beforeAll(async () => {
    dir = tempDir();
    dataDir = join(dir, 'postgres');
    pgPort = await freePort();
  });
  afterAll(async () => {
    await stopAllStores();
    await stopPostgresIn(dataDir);
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ DATABASE_URL: undefined, EMBEDDED_PG_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort) });

  it(
    'started together, each serves; the first to stop leaves it to the other, the last stops it',
    async () => {
      // Started at the same moment on a fresh directory: one initialises and starts it, the other joins.
      const [first, second] = [spawnStore(env()), spawnStore(env())];
      await expectHealthy(await first.port(EMBEDDED_START_TIMEOUT));
      await expectHealthy(await second.port(EMBEDDED_START_TIMEOUT));
      const postgres = postmasterPid(dataDir);
      expect(postgres).toBeDefined();

      expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(first.stdout()).toContain('other processes use it');
      expect(postmasterPid(dataDir)).toBe(postgres);
      await expectHealthy(await second.port());
      const base = { url: `http://127.0.0.1:${await second.port()}` };
      expect((await http(base, 'POST', '/inventory/products', { sku: 'SHARED-1', name: 'Kettle', priceCents: 100, stock: 1 })).status).toBe(201);

      expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(warnings(first)).toEqual([]);
      expect(warnings(second)).toEqual([]);
      await expectPostgresStopped(dataDir, pgPort);
    },
    EMBEDDED_START_TIMEOUT * 2,
  );

  it(
    'a second process on a PORT already taken fails with one line naming PORT, and leaves the first one serving',
    async () => {
      const first = spawnStore(env());
      const port = await first.port(EMBEDDED_START_TIMEOUT);
      const result = await runStoreToExit({ ...env(), PORT: String(port) }, EMBEDDED_START_TIMEOUT);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^monolith-first: PORT: \d+ is already in use/)]);
      await expectHealthy(port);
      expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      await expectPostgresStopped(dataDir, pgPort);
    },
    EMBEDDED_START_TIMEOUT * 2,
  );
});

describe('npm start, signalled as a user does', () => {
  let dir: string;
  let dataDir: string;
  let pgPort: number;

  beforeAll(async () => {
    dir = tempDir();
    dataDir = join(dir, 'postgres');
    pgPort = await freePort();
  });
  afterAll(async () => {
    await stopAllStores();
    await stopPostgresIn(dataDir);
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ DATABASE_URL: undefined, EMBEDDED_PG_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort) });

  // npm forwards SIGINT and SIGTERM to its child: the script must be that child (exec), not a shell.
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to the npm process stops npm, the store and its Postgres, with no warning',
    async (signal) => {
      const npm = spawnStore(env(), { npm: true, detached: true });
      await expectHealthy(await npm.port(EMBEDDED_START_TIMEOUT));
      expect(npm.stdout()).not.toContain('build: dist/ ->'); // an up-to-date build is not rebuilt
      process.kill(npm.pid, signal);
      await npm.exited;
      await eventuallyGone(() => !groupAlive(npm));
      expect(warnings(npm)).toEqual([]);
      await expectPostgresStopped(dataDir, pgPort);
    },
    EMBEDDED_START_TIMEOUT,
  );

  it(
    'Ctrl-C at a terminal (SIGINT to npm, its store: the whole group) stops everything, with no warning',
    async () => {
      const npm = spawnStore(env(), { npm: true, detached: true });
      await expectHealthy(await npm.port(EMBEDDED_START_TIMEOUT));
      signalGroup(npm, 'SIGINT');
      await npm.exited;
      await eventuallyGone(() => !groupAlive(npm));
      expect(warnings(npm)).toEqual([]);
      await expectPostgresStopped(dataDir, pgPort);
    },
    EMBEDDED_START_TIMEOUT,
  );
});

/** Log lines at warn level or above, and anything on stderr that is not npm's own banner. */
function warnings(store: SpawnedStore): string[] {
  return `${store.stdout()}\n${store.stderr()}`
    .split('\n')
    .filter((line) => /"level":"(warn|error|fatal)"|LISTEN connection lost|reconnecting|npm (error|ERR)/.test(line));
}

/** Waits (without a time assertion: the test's own timeout bounds it) until `gone()` holds. */
async function eventuallyGone(gone: () => boolean): Promise<void> {
  while (!gone()) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** A temporary directory the `postgres` user can enter: a root-run store drops to that user for Postgres. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mf-start-up-'));
  chmodSync(dir, 0o755);
  return dir;
}

async function expectHealthy(port: number): Promise<void> {
  const health = await http({ url: `http://127.0.0.1:${port}` }, 'GET', '/health');
  expect(health.status).toBe(200);
  expect(health.body).toEqual({ status: 'ok', modules: expect.any(Object) });
  const modules = Object.values(health.body.modules);
  expect(modules.length).toBeGreaterThan(0);
  for (const module of modules) expect(module).toEqual({ location: 'local', status: 'up' });
}

async function expectPostgresStopped(dataDir: string, port: number): Promise<void> {
  expect(postmasterPid(dataDir)).toBeUndefined();
  expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
  expect(await acceptsConnections(port)).toBe(false);
}
