import { Agent, request } from 'node:http';

/**
 * A lean JSON client for latency loops: node:http over one kept-alive
 * socket, so each sample is one request on a warm connection and the client's
 * own overhead (smaller than fetch's) stays out of what is measured.
 *
 * An idle socket is dropped after IDLE_MS, before the server's keep-alive
 * timeout (5 s in Node) can close it under a request (ECONNRESET).
 */
const IDLE_MS = 2_000;

export interface JsonResponse {
  readonly status: number;
  /** Parsed JSON (the text when it is not JSON); the caller says what it expects (see expect()). */
  readonly body: unknown;
}

export class JsonClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1, timeout: IDLE_MS });

  constructor(private readonly baseUrl: string) {}

  send(method: string, path: string, body?: unknown, headers: Readonly<Record<string, string>> = {}): Promise<JsonResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.baseUrl}${path}`,
        {
          method,
          agent: this.agent,
          headers: payload === undefined ? { ...headers } : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: keep the text for the error message
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Sends, and fails unless the status is `expected`. */
  async expect<T = unknown>(expected: number, method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    if (response.status !== expected) {
      throw new Error(`${method} ${path}: expected ${expected}, got ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body as T;
  }

  close(): void {
    this.agent.destroy();
  }
}
