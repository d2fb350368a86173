import { randomBytes } from 'node:crypto';
import { PrivateNatsServer } from '../../tools/support/nats-server.js';
import { NatsTransport } from '../../src/platform/transport/nats-transport.js';
import type { CallReply } from '../../src/platform/transport/transport.js';
import { eventually } from '../support/eventually.js';
import { spawnStore, type SpawnedStore } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const BINARY = PrivateNatsServer.findBinary();
/** Small enough that 100 prices do not fit in an answer, large enough for every request and JetStream's API. */
const MAX_PAYLOAD = 8_192;

/**
 * An answer over the server's max_payload made `respond` throw inside a promise
 * nobody handled, and Node ended the serving process. Now the caller gets a small
 * error answer at once and the process one log line. (On a draining or closed
 * connection this NATS client's `respond` does not throw, it drops the answer:
 * the caller's deadline passes; the transport would log a throw all the same.)
 */
(BINARY ? describe : describe.skip)('a reply that cannot be sent', () => {
  let nats: PrivateNatsServer;
  let database: TestDatabase;
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const token = randomBytes(16).toString('hex');
  const transports: NatsTransport[] = [];
  const connect = async (name: string) => {
    const transport = await NatsTransport.connect({ url: nats.url, prefix, token, name });
    transports.push(transport);
    return transport;
  };

  beforeAll(async () => {
    nats = await PrivateNatsServer.start(BINARY!, `max_payload: ${MAX_PAYLOAD}\n`);
    database = await createTestDatabase();
  }, 30_000);

  afterAll(async () => {
    for (const transport of transports.splice(0)) await transport.close().catch(() => {});
    await database?.drop();
    await nats?.stop();
  });

  it('answers a clear error for an answer over max_payload, and the serving process lives on', async () => {
    const store: SpawnedStore = spawnStore({
      MODULES: 'inventory',
      GATEWAY: 'off',
      NATS_URL: nats.url,
      NATS_SUBJECT_PREFIX: prefix,
      SERVICE_TOKEN: token,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'info',
    });
    try {
      const caller = await connect('test-caller');
      const call = (operation: string, input: unknown) => caller.call('inventory', operation, input, 5_000);
      await eventually(async () => expect(await caller.ping('inventory', 500)).toBe(true), 60_000, 200);
      // 100 products with the longest skus: their prices (about 90 bytes each) do not fit in 8 KiB, the request does.
      const skus = Array.from({ length: 100 }, (_, i) => `${'S'.repeat(60)}${String(i).padStart(4, '0')}`);
      for (const sku of skus) expect(await call('createProduct', { sku, name: 'x', priceCents: 1234, stock: 1 })).toMatchObject({ ok: true });

      const answer: CallReply = await call('getPrices', { skus });
      expect(answer).toEqual({
        ok: false,
        error: { code: 'UNAVAILABLE', module: 'inventory', message: expect.stringMatching(/answer .* too large to send/) },
      });
      // The process lives on, answers the next call, and said what happened once.
      expect(await call('getProduct', { sku: skus[0] })).toMatchObject({ ok: true, result: { sku: skus[0] } });
      // The log is written asynchronously: wait for the line, then count it.
      await eventually(async () => expect(`${store.stdout()}${store.stderr()}`.match(/too large to send/g)).toHaveLength(1));
    } finally {
      const exit = await store.stop('SIGTERM');
      // Stopped by us, not by an unhandled rejection.
      expect(exit).toEqual({ code: 0, signal: null });
    }
  }, 120_000);
});
