import { freePort } from '../support/free-port.js';
import { type Forwarder, forwardPort } from '../support/tcp-forward.js';
import { builtMain, spawnStore, stopAllStores } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * A process that starts while its PostgreSQL is away comes up when it is back (DATABASE_STARTUP_WAIT_MS),
 * instead of exiting. Found by the explorer's soak (seed 842521667, inventory-extracted): Inventory,
 * SIGKILLed and started again by the schedule just as PostgreSQL restarted, exited on its start-up's
 * "cannot reach the database", and every saga that needed it ended STUCK. Here the database's port first
 * refuses connections (nothing listens), then accepts them again: a server restarting, as a client sees it.
 */
let database: TestDatabase;
let port: number;
let forwarder: Forwarder | undefined;

/** From now on, the port leads to the real server. */
async function databaseBack(): Promise<void> {
  forwarder = await forwardPort(port, new URL(database.url), 5432);
}

beforeAll(async () => {
  builtMain();
  database = await createTestDatabase('mf_late');
  port = await freePort();
});

afterAll(async () => {
  await stopAllStores();
  await forwarder?.close();
  await database?.drop();
});

it('a store started while its database refuses connections waits, then serves once it is back', async () => {
  const through = new URL(database.url);
  through.port = String(port);
  const store = spawnStore({ DATABASE_URL: through.toString() });
  // It says it waits (once), and for how long at most.
  const deadline = Date.now() + 20_000;
  while (!/waiting for the database of module/.test(store.stdout()) && store.stderr() === '' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Before the wait: `monolith-first: cannot reach the database of module '…' at …: connect ECONNREFUSED`, exit 1.
  expect(store.stderr()).toBe('');
  expect(store.stdout()).toMatch(/waiting for the database of module '\w+' at .*: up to 30 s, DATABASE_STARTUP_WAIT_MS/);
  await databaseBack();
  const served = await store.port(60_000);
  const ready = await fetch(`http://127.0.0.1:${served}/health/ready`);
  expect(ready.status).toBe(200);
  const created = await fetch(`http://127.0.0.1:${served}/inventory/products`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sku: 'LATE-1', name: 'Kettle', priceCents: 1000, stock: 3 }),
  });
  expect(created.status).toBe(201);
  await store.stop();
}, 120_000);
