import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Counter } from 'prom-client';
import type { Metrics } from '../observability/metrics.js';
import { RecentKeys } from '../sagas/recent-keys.js';

interface Window {
  readonly until: number;
  /** Past `until`, the one request let through to ask the module again; the others are still refused meanwhile. */
  probing: boolean;
  readonly body: Buffer;
  readonly retryAfter: string;
  /** The metric's child for the route's template (not the concrete path: ids must not become label values), bound once. */
  readonly counted: { inc(): void };
}

/** When a connection's last refusal at the door was answered (performance.now()). */
const LAST_REFUSED = Symbol('lastRefusedAt');
type RefusedSocket = Socket & { [LAST_REFUSED]?: number };

/**
 * A connection refused at the door and back sooner than this gets its next refusal
 * only this long after the previous one (ADR 24): a client retrying at once, without
 * back-off, then asks at most 10 times a second per connection instead of as fast as
 * the process can answer, and the refusals stop taking the CPU the accepted work needs.
 * Holding an answer costs a timer; the shortest refusal window (ADR 16) is this long too.
 */
export const REFUSAL_PACE_MS = 100;

/** Routes refusing at once, at most; beyond it the oldest windows are forgotten (they only cost a full refusal). */
const MAX_WINDOWS = 1_000;
/**
 * Idempotency keys answered 2xx here that the door remembers (ADR 24): about 3 MB at
 * most. A repeat of a forgotten key is refused like a new request while its route refuses.
 */
const MAX_ANSWERED_KEYS = 10_000;

/**
 * Refusals that cost almost nothing (ADR 16). When a module refuses a request
 * at capacity (UNAVAILABLE with a `retryAfterMs` hint, its own or from another
 * process), the same route (method and path) is answered the same 503 problem,
 * with Retry-After, for that long, by this middleware: before tracing, body
 * parsing, validation, the contract call or the transport, from a buffer
 * prepared once. A request with an `Idempotency-Key` is refused too (ADR 24: a
 * flood of keyed requests must not cost a query each), unless this door saw that
 * key answered 2xx on that route: a repeat of accepted work, whose answer is owed
 * even under overload (ADR 11), goes through. Past the window, one request takes
 * the full path (the others are still refused until it is answered), and its answer
 * reopens or closes the route. `attach` puts the door before the framework (express),
 * on the HTTP server's own 'request' event; a connection that comes back at once after
 * a refusal is paced (REFUSAL_PACE_MS).
 */
export class EarlyRefusals {
  private readonly windows = new Map<string, Window>();
  /** `method path key` of keyed requests answered 2xx through this door. */
  private readonly answered = new RecentKeys(MAX_ANSWERED_KEYS);
  private readonly refused: Counter<'method' | 'route'>;

  /** `hold(ms, answer)`: answers later (a timer by default; a test holds them itself). */
  constructor(
    metrics: Metrics,
    private readonly hold: (ms: number, answer: () => void) => void = (ms, answer) => void setTimeout(answer, ms),
  ) {
    this.refused = metrics.counter(
      'http_requests_refused_early_total',
      'Requests answered 503 at the door, before any work, while their route refuses at capacity (ADR 16)',
      ['method', 'route'],
    );
  }

  /** A request to `method path` was refused at capacity with `body`: refuse that route for `retryAfterMs`. */
  close(method: string, path: string, route: string, retryAfterMs: number, body: string, retryAfter: string): void {
    if (!(retryAfterMs > 0)) return;
    const key = `${method} ${path}`;
    this.windows.delete(key);
    if (this.windows.size >= MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(key, {
      until: performance.now() + retryAfterMs,
      probing: false,
      body: Buffer.from(body),
      retryAfter,
      counted: this.refused.labels(method, route),
    });
  }

  /**
   * The door on `server` itself, before the framework's listener (express's routing,
   * query parsing and its own middleware): a refusal costs Node's HTTP parsing and a write.
   */
  attach(server: Server): void {
    const listeners = server.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>;
    server.removeAllListeners('request');
    server.on('request', (request: IncomingMessage, response: ServerResponse) =>
      this.middleware(request, response, () => {
        for (const listener of listeners) listener.call(server, request, response);
      }),
    );
  }

  /** The express middleware; first in the chain. */
  readonly middleware = (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    if (request.method === 'GET' || request.method === 'HEAD') return next();
    const idempotencyKey = request.headers['idempotency-key'];
    if (this.windows.size === 0 && idempotencyKey === undefined) return next();
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const key = `${request.method} ${query < 0 ? url : url.slice(0, query)}`;
    const keyed = idempotencyKey === undefined ? undefined : `${key} ${String(idempotencyKey)}`;
    if (keyed !== undefined && this.answered.has(keyed)) return next();
    const window = this.windows.get(key);
    if (window === undefined) return this.pass(keyed, response, next);
    if (!window.probing && performance.now() >= window.until) {
      // One request asks the module again. Refused at capacity, it closes the route anew (`close`
      // replaces this window); answered otherwise, the route is open. Until then the rest wait at the door:
      // else every request arriving during the probe's round trip would take the full path to a refusal.
      window.probing = true;
      const settle = () => {
        if (this.windows.get(key) === window) this.windows.delete(key);
      };
      response.once('finish', settle);
      response.once('close', settle);
      return this.pass(keyed, response, next);
    }
    window.counted.inc();
    const socket = request.socket as RefusedSocket;
    const now = performance.now();
    const last = socket[LAST_REFUSED];
    if (last !== undefined && now - last < REFUSAL_PACE_MS) {
      // Back at once after its last refusal: answered when the pace allows, not sooner.
      socket[LAST_REFUSED] = last + REFUSAL_PACE_MS;
      this.hold(last + REFUSAL_PACE_MS - now, () => refuse(response, window));
    } else {
      socket[LAST_REFUSED] = now;
      refuse(response, window);
    }
  };

  /** Lets a request through; keyed, it is remembered if answered 2xx, so that its repeats pass the door (ADR 24). */
  private pass(keyed: string | undefined, response: ServerResponse, next: () => void): void {
    if (keyed !== undefined) {
      response.once('finish', () => {
        if (response.statusCode >= 200 && response.statusCode < 300) this.answered.add(keyed);
      });
    }
    next();
  }
}

/** The window's 503, from its ready buffer. The body is not read: Node discards it once the answer is sent, and keeps the connection. */
function refuse(response: ServerResponse, window: Window): void {
  if (response.destroyed) return;
  response.writeHead(503, {
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': window.body.length,
    'retry-after': window.retryAfter,
  });
  response.end(window.body);
}
