import { createServer, type Server } from 'node:http';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { FaultProxy } from '../../tools/support/fault-proxy.js';
import { RoundRobinFront } from '../../tools/support/round-robin-front.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';

/**
 * The fault tools of `npm run compare`, on real TCP:
 * - the fault proxy forwards NATS traffic untouched, delays it in order, drops
 *   it during a partition (a request gets no reply), and after the heal the
 *   client, whose connection is reset, reconnects through it and is answered;
 * - the round-robin front spreads connections over the replicas and skips one
 *   that refuses connections.
 */
describeWithNats('fault proxy between a NATS client and the server', () => {
  let proxy: FaultProxy;
  let server: NatsConnection;
  let client: NatsConnection;
  const subject = `fault-proxy-test.${process.pid}.${Date.now()}`;

  beforeAll(async () => {
    proxy = await FaultProxy.start(NATS_URL);
    server = await connect({ servers: NATS_URL });
    server.subscribe(subject, {
      callback: (_error, msg) => {
        msg.respond(msg.data);
      },
    });
    await server.flush();
    client = await connect({ servers: proxy.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await proxy?.stop();
  });

  const ask = async (text: string, timeout = 2_000) => new TextDecoder().decode((await client.request(subject, text, { timeout })).data);

  it('forwards, delays in order, drops while partitioned, and lets the client reconnect after the heal', async () => {
    expect(await ask('plain')).toBe('plain');

    proxy.delay(30);
    const answers = await Promise.all(['a', 'b', 'c'].map((t) => ask(t)));
    expect(answers).toEqual(['a', 'b', 'c']);
    proxy.heal();

    proxy.partition();
    await expect(ask('lost', 300)).rejects.toThrow();
    proxy.heal();
    // The reset connection comes back through the proxy: answered again.
    let answer: string | undefined;
    for (let i = 0; i < 50 && answer === undefined; i++) answer = await ask('back', 500).catch(() => undefined);
    expect(answer).toBe('back');
  }, 30_000);
});

describe('round-robin front over replicas', () => {
  const servers: Server[] = [];
  const urls: string[] = [];
  let front: RoundRobinFront;

  beforeAll(async () => {
    for (const name of ['one', 'two']) {
      const server = createServer((_req, res) => res.end(name));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      servers.push(server);
      urls.push(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    }
    front = await RoundRobinFront.start(urls);
  });

  afterAll(async () => {
    await front?.stop();
    for (const server of servers) if (server.listening) await new Promise((resolve) => server.close(resolve));
  });

  // A new connection per request (no keep-alive), so every request is a routing decision.
  const get = async () => (await fetch(front.url, { headers: { connection: 'close' } })).text();

  it('spreads connections over every replica, and skips one that is down', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await get());
    expect([...seen].sort()).toEqual(['one', 'two']);

    servers[0].closeAllConnections();
    await new Promise((resolve) => servers[0].close(resolve));
    const after: string[] = [];
    for (let i = 0; i < 6; i++) after.push(await get());
    expect(after).toEqual(new Array(6).fill('two'));
  });
});
