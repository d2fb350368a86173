import { freePort } from '../support/free-port.js';
import { type Forwarder, forwardPort } from '../support/tcp-forward.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { builtMain, spawnStore, stopAllStores } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * A process of a distributed topology that starts while NATS is out of its reach comes up once NATS is
 * back (NATS_STARTUP_WAIT_MS), instead of exiting. Found by the explorer's soak (seed 689111020,
 * inventory-extracted): the process hosting Orders, SIGKILLed and started again by the schedule just as a
 * partition of its link to NATS healed, exited on "cannot reach NATS", and the store never settled. Here
 * NATS's port first refuses connections (nothing listens), then leads to the real server.
 */
let database: TestDatabase;
let port: number;
let forwarder: Forwarder | undefined;

/** From now on, the port leads to the real server. */
async function natsBack(): Promise<void> {
  forwarder = await forwardPort(port, new URL(NATS_URL), 4222);
}

describeWithNats('a process started while NATS is out of reach', () => {
  beforeAll(async () => {
    builtMain();
    database = await createTestDatabase('mf_nats_late');
    port = await freePort();
  });

  afterAll(async () => {
    await stopAllStores();
    await forwarder?.close();
    await database?.drop();
  });

  it('waits, says so once, then serves once NATS is back', async () => {
    const store = spawnStore({
      DATABASE_URL: database.url,
      MODULES: 'inventory',
      NATS_URL: `nats://127.0.0.1:${port}`,
      SERVICE_TOKEN: 'nats-late-test-token',
      NATS_SUBJECT_PREFIX: `late${port}`,
    });
    const deadline = Date.now() + 20_000;
    while (!/waiting for NATS at/.test(store.stdout()) && store.stderr() === '' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Before the wait: `monolith-first: cannot reach NATS at nats://127.0.0.1:… (TRANSPORT=nats): …`, exit 1.
    expect(store.stderr()).toBe('');
    expect(store.stdout()).toMatch(/waiting for NATS at nats:\/\/127\.0\.0\.1:\d+ .*: up to 30 s, NATS_STARTUP_WAIT_MS/);
    await natsBack();
    const served = await store.port(60_000);
    const ready = await fetch(`http://127.0.0.1:${served}/health/ready`);
    expect(ready.status).toBe(200);
    await store.stop();
  }, 120_000);
});
