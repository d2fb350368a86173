import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metrics } from '../observability/metrics.js';
import { EarlyRefusals, REFUSAL_PACE_MS } from './early-refusals.js';

/*
 * The door of ADR 16 on a real HTTP server: behind it, a handler that counts what
 * reaches it and answers 202 (or, when told to, refuses at capacity and closes the route
 * as the problem filter does).
 */
describe('EarlyRefusals', () => {
  let server: Server;
  let url: string;
  let refusals: EarlyRefusals;
  let metrics: Metrics;
  let reached: string[];
  /** Refusals the door held back (a connection back at once); answered at once unless `keepHeld`. */
  let held: Array<() => void>;
  let keepHeld: boolean;
  /** While set, the handler refuses at capacity and closes the route for this long. */
  let refuseForMs: number | undefined;
  /** While set, the handler waits for it before answering. */
  let hold: Promise<void> | undefined;
  const problem = JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'at capacity' });

  beforeEach(async () => {
    metrics = new Metrics({ defaultMetrics: false });
    held = [];
    keepHeld = false;
    refusals = new EarlyRefusals(metrics, (ms, answer) => {
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(REFUSAL_PACE_MS);
      held.push(answer);
      if (!keepHeld) answer();
    });
    reached = [];
    refuseForMs = undefined;
    hold = undefined;
    server = createServer((request, response) => {
      reached.push(`${request.method} ${request.url}`);
      (hold ?? Promise.resolve()).then(
        () => {
          if (refuseForMs !== undefined) {
            refusals.close(request.method!, request.url!.split('?')[0], '/orders', refuseForMs, problem, '1');
            response.writeHead(503, { 'content-type': 'application/problem+json; charset=utf-8', 'retry-after': '1' }).end(problem);
          } else {
            response.writeHead(202, { 'content-type': 'application/json' }).end('{}');
          }
        },
        (error: unknown) => response.destroy(error as Error),
      );
    });
    refusals.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const post = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"a":1}' });

  it('refuses the closed route at the door with the same problem, and nothing else', async () => {
    refuseForMs = 60_000;
    expect((await post('/orders')).status).toBe(503);
    expect(reached).toHaveLength(1);
    refuseForMs = undefined;

    const early = await post('/orders?x=1');
    expect(early.status).toBe(503);
    expect(early.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(early.headers.get('retry-after')).toBe('1');
    expect(await early.text()).toBe(problem);
    expect(reached).toHaveLength(1);

    // Another route and a GET of the same path go through; a new Idempotency-Key is refused like the rest (ADR 24).
    expect((await post('/orders/x/cancel')).status).toBe(202);
    expect((await fetch(`${url}/orders`)).status).toBe(202);
    expect((await post('/orders', { 'idempotency-key': 'k-1' })).status).toBe(503);
    expect(reached).toEqual(['POST /orders', 'POST /orders/x/cancel', 'GET /orders']);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^http_requests_refused_early_total\{method="POST",route="\/orders"\} 2$/m);
  });

  it('lets the repeat of a key it saw answered 2xx through a closed route, and no other key (ADR 24)', async () => {
    expect((await post('/orders', { 'idempotency-key': 'accepted' })).status).toBe(202);
    refuseForMs = 60_000;
    expect((await post('/orders', { 'idempotency-key': 'refused' })).status).toBe(503);
    refuseForMs = undefined;
    expect(reached).toHaveLength(2);

    // The route refuses now: the accepted key's repeat reaches the handler, the refused one and a new one do not.
    expect((await post('/orders', { 'idempotency-key': 'accepted' })).status).toBe(202);
    expect((await post('/orders', { 'idempotency-key': 'refused' })).status).toBe(503);
    expect((await post('/orders', { 'idempotency-key': 'new' })).status).toBe(503);
    // The same key on another route is another request.
    expect((await post('/orders/x/cancel', { 'idempotency-key': 'accepted' })).status).toBe(202);
    expect(reached).toEqual(['POST /orders', 'POST /orders', 'POST /orders', 'POST /orders/x/cancel']);
  });

  it('after the window lets one request ask again, refuses the others meanwhile, and opens when it is answered', async () => {
    refuseForMs = 1;
    expect((await post('/orders')).status).toBe(503);
    refuseForMs = undefined;
    await new Promise((resolve) => setTimeout(resolve, 5));

    let release!: () => void;
    hold = new Promise<void>((resolve) => (release = resolve));
    const probe = post('/orders');
    // The probe is in the handler: the rest are still refused at the door.
    while (reached.length < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    expect((await post('/orders')).status).toBe(503);
    expect(reached).toHaveLength(2);
    release();
    expect((await probe).status).toBe(202);
    hold = undefined;

    // Answered without a refusal: the route is open.
    expect((await post('/orders')).status).toBe(202);
    expect(reached).toHaveLength(3);
  });

  it('closes the route again when the probe is refused too', async () => {
    refuseForMs = 1;
    expect((await post('/orders')).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 5));
    refuseForMs = 60_000;
    expect((await post('/orders')).status).toBe(503); // the probe, refused by the handler
    expect(reached).toHaveLength(2);
    refuseForMs = undefined;
    expect((await post('/orders')).status).toBe(503); // at the door
    expect(reached).toHaveLength(2);
  });

  it('paces a connection that comes back at once after a refusal: its next refusal waits, other connections do not', async () => {
    refuseForMs = 60_000;
    expect((await post('/orders')).status).toBe(503);
    refuseForMs = undefined;
    keepHeld = true;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const status = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${url}/orders`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        req.end('{}');
      });
    try {
      expect(await status()).toBe(503); // this connection's first refusal: at once
      expect(held).toHaveLength(0);
      let answered = false;
      const again = status().then((code) => ((answered = true), code));
      while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      // Held, not answered, while another connection is refused at once.
      expect((await fetch(`${url}/orders`, { method: 'POST', body: '{}', headers: { connection: 'close' } })).status).toBe(503);
      expect(answered).toBe(false);
      held[0]();
      expect(await again).toBe(503);
      expect(held).toHaveLength(1);
      expect(reached).toHaveLength(1);
    } finally {
      agent.destroy();
    }
  });
});
