import { request } from 'node:http';

/** One request as the scenario sends it: JSON, raw text (malformed JSON, other content types) or a size. */
export interface RequestSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly json?: unknown;
  readonly raw?: { readonly contentType: string; readonly text: string };
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a client sees of one answer: status, the headers that carry meaning, the body. */
export interface Seen {
  readonly status: number;
  /** Lower-case names; only those a client acts on (content-type without parameters, location, retry-after). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

const KEPT_HEADERS = ['content-type', 'location', 'retry-after'];

/**
 * Sends one request on a fresh connection (no keep-alive: a refused 1 MiB
 * body may leave a connection unusable) and reads the whole answer. A network
 * failure is an answer too: status 0 and the error's code.
 */
export function exchange(baseUrl: string, spec: RequestSpec, timeoutMs = 30_000): Promise<Seen> {
  const payload = spec.raw ? spec.raw.text : spec.json === undefined ? undefined : JSON.stringify(spec.json);
  const headers: Record<string, string | number> = { ...spec.headers };
  if (payload !== undefined) {
    headers['content-type'] = spec.raw ? spec.raw.contentType : 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (seen: Seen) => {
      if (!settled) {
        settled = true;
        resolve(seen);
      }
    };
    const req = request(`${baseUrl}${spec.path}`, { method: spec.method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          // not JSON: compared as text
        }
        const kept: Record<string, string> = {};
        for (const name of KEPT_HEADERS) {
          const value = res.headers[name];
          if (value === undefined) continue;
          const text = Array.isArray(value) ? value.join(', ') : String(value);
          kept[name] = name === 'content-type' ? text.split(';')[0].trim() : text;
        }
        done({ status: res.statusCode ?? 0, headers: kept, body });
      });
      res.on('error', (error: NodeJS.ErrnoException) => done({ status: 0, headers: {}, body: `network error: ${error.code ?? error.message}` }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    // A server that answers 413 before reading the whole body may reset the connection: the answer, if any, has won by then.
    req.on('error', (error: NodeJS.ErrnoException) => done({ status: 0, headers: {}, body: `network error: ${error.code ?? error.message}` }));
    req.end(payload);
  });
}
