import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Counter } from 'prom-client';
import type { Metrics } from '../observability/metrics.js';

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
 * Refusals that cost almost nothing (ADR 16). When a module refuses a request
 * at capacity (UNAVAILABLE with a `retryAfterMs` hint, its own or from another
 * process), the same route (method and path) is answered the same 503 problem,
 * with Retry-After, for that long, by this middleware: before tracing, body
 * parsing, validation, the contract call or the transport, from a buffer
 * prepared once. Anything with an `Idempotency-Key` goes through: it may be a
 * replay of accepted work, whose answer is owed even under overload (ADR 11).
 * Past the window, one request takes the full path (the others are still
 * refused until it is answered), and its answer reopens or closes the route.
 */
export class EarlyRefusals {
  private readonly windows = new Map<string, Window>();
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
    if (this.windows.size === 0 || request.method === 'GET' || request.method === 'HEAD') return next();
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const key = `${request.method} ${query < 0 ? url : url.slice(0, query)}`;
    const window = this.windows.get(key);
    if (window === undefined) return next();
    if (request.headers['idempotency-key'] !== undefined) return next();
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
      return next();
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
}
