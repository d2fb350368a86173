import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Counter } from 'prom-client';
import type { Metrics } from '../observability/metrics.js';
import { RecentKeys } from '../sagas/recent-keys.js';

interface Window {
  readonly until: number;
  /** Past `until`, the one request let through to ask the module again; the others are still refused meanwhile. */
  probing: boolean;
  readonly body: Buffer;
  readonly retryAfter: string;
  /** The route's template, for the metric (not the concrete path: ids must not become label values). */
  readonly route: string;
}

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
 * even under overload (ADR 11), goes through. Past the window, one request takes the full path (the others are still
 * refused until it is answered), and its answer reopens or closes the route.
 */
export class EarlyRefusals {
  private readonly windows = new Map<string, Window>();
  /** `method path key` of keyed requests answered 2xx through this door. */
  private readonly answered = new RecentKeys(MAX_ANSWERED_KEYS);
  private readonly refused: Counter<'method' | 'route'>;

  constructor(metrics: Metrics) {
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
    this.windows.set(key, { until: performance.now() + retryAfterMs, probing: false, body: Buffer.from(body), retryAfter, route });
  }

  /** The express middleware; first in the chain. */
  readonly middleware = (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    if (request.method === 'GET' || request.method === 'HEAD') return next();
    const idempotencyKey = request.headers['idempotency-key'];
    if (this.windows.size === 0 && idempotencyKey === undefined) return next();
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const key = `${request.method} ${query < 0 ? url : url.slice(0, query)}`;
    const keyed = idempotencyKey === undefined ? undefined : `${key} ${idempotencyKey}`;
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
    this.refused.inc({ method: request.method!, route: window.route });
    // The body is not read: Node discards it once the answer is sent, and keeps the connection.
    response.writeHead(503, {
      'content-type': 'application/problem+json; charset=utf-8',
      'content-length': window.body.length,
      'retry-after': window.retryAfter,
    });
    response.end(window.body);
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
