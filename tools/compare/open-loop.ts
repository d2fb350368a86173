import { Agent, request } from 'node:http';

/**
 * An open-loop load: POST /orders at a constant arrival rate, one request
 * every 1/rate s whatever the answers, each on a connection of its own when
 * the earlier ones are still busy. Why not autocannon's `overallRate`: it
 * paces a fixed set of connections, so a slow answer delays the next request
 * (the load backs off exactly when the store is slow, and the latency it
 * records leaves out the waiting: coordinated omission); and it cannot follow
 * an order after its POST. Here every latency is taken from the moment the
 * request was due, not from when it could be sent.
 *
 * With `follow`, each accepted order is then read with GET /orders/:id (the
 * first time `pollMs / 2` after the answer, then every `pollMs`) until it is
 * CONFIRMED or CANCELLED: the latency a client sees, POST due -> terminal
 * status read, within `pollMs`.
 *
 * With `preferWaitS`, each POST says `Prefer: wait=N` (store-api.md, ADR 30):
 * the store answers 201 with the terminal order when the checkout ends within
 * N s, so the answer's arrival is the order's end, with no polling granularity
 * in it. A 202 (the checkout outlived the wait) is then followed by polling, as
 * such a client would; `terminalInAnswer` tells the two apart.
 */
export interface OpenLoopOptions {
  readonly baseUrl: string;
  readonly rate: number;
  readonly durationS: number;
  /** The body of the i-th request. */
  readonly body: (i: number) => string;
  readonly follow: boolean;
  readonly pollMs: number;
  /** Send `Prefer: wait=N` with every POST (N seconds, 1..30). */
  readonly preferWaitS?: number;
  /** A followed order not terminal after this long from its POST is given up on (counted, not timed). */
  readonly terminalTimeoutMs: number;
  readonly onTick?: (text: string) => void;
  /** Asked before each request: true ends the sending early (durationS is then a cap). */
  readonly shouldStop?: () => boolean;
  /** Hears every answer as it comes. */
  readonly onAnswer?: (sample: OpenLoopSample) => void;
}

export interface OpenLoopSample {
  /** performance.now() when the request was due. */
  readonly dueAt: number;
  readonly answeredAt: number;
  /** HTTP status; 0: a network error or timeout. */
  readonly status: number;
  /** Why there was no answer (status 0): the socket error's code, or "timeout". */
  readonly error?: string;
  readonly orderId?: string;
  /** When a GET first showed the order terminal (follow), and its status. */
  readonly terminalAt?: number;
  readonly terminalStatus?: string;
  /** The POST's own answer carried the terminal order (a 201 to `Prefer: wait`, or the baseline's). */
  readonly terminalInAnswer?: boolean;
}

export interface OpenLoopRun {
  readonly startedAt: number;
  readonly samples: readonly OpenLoopSample[];
  /** How late the generator sent requests (event loop lag), ms: p99 and max; large values make the run unreliable. */
  readonly lateMs: { readonly p99: number; readonly max: number };
  /** GET requests made to follow the orders. */
  readonly polls: number;
}

const TERMINAL = new Set(['CONFIRMED', 'CANCELLED']);

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const interval = 1000 / options.rate;
  const total = Math.max(1, Math.round(options.rate * options.durationS));
  const samples: OpenLoopSample[] = [];
  const late: number[] = [];
  const pending: Promise<void>[] = [];
  let polls = 0;
  const startedAt = performance.now();
  const ticker = setInterval(() => options.onTick?.(`${options.rate}/s: ${samples.length}/${total} answered`), 1000);

  const follow = async (orderId: string, dueAt: number): Promise<{ terminalAt?: number; terminalStatus?: string }> => {
    await sleep(options.pollMs / 2);
    while (performance.now() - dueAt < options.terminalTimeoutMs) {
      polls++;
      const answer = await send(agent, 'GET', `${options.baseUrl}/orders/${orderId}`, undefined);
      if (answer.status === 200 && answer.body && TERMINAL.has(String(answer.body.status)))
        return { terminalAt: performance.now(), terminalStatus: String(answer.body.status) };
      await sleep(options.pollMs);
    }
    return {};
  };

  const fire = async (i: number, dueAt: number) => {
    late.push(performance.now() - dueAt);
    const headers = options.preferWaitS === undefined ? undefined : { prefer: `wait=${options.preferWaitS}` };
    const answer = await send(agent, 'POST', `${options.baseUrl}/orders`, options.body(i), headers);
    const answeredAt = performance.now();
    const orderId = typeof answer.body?.orderId === 'string' ? answer.body.orderId : undefined;
    const ok = answer.status >= 200 && answer.status < 300 && orderId !== undefined;
    let terminal: { terminalAt?: number; terminalStatus?: string; terminalInAnswer?: boolean } = {};
    // An order already terminal in the POST's answer (a 201 to `Prefer: wait`, the baseline's) ends there.
    if (ok && TERMINAL.has(String(answer.body?.status)))
      terminal = { terminalAt: answeredAt, terminalStatus: String(answer.body!.status), terminalInAnswer: true };
    else if (ok && options.follow) terminal = await follow(orderId, dueAt);
    const sample = { dueAt, answeredAt, status: answer.status, ...(answer.error ? { error: answer.error } : {}), orderId, ...terminal };
    samples.push(sample);
    options.onAnswer?.(sample);
  };

  try {
    for (let i = 0; i < total; i++) {
      if (options.shouldStop?.()) break;
      const dueAt = startedAt + i * interval;
      const wait = dueAt - performance.now();
      if (wait > 1) await sleep(wait);
      pending.push(fire(i, dueAt));
    }
    await Promise.all(pending);
  } finally {
    clearInterval(ticker);
    agent.destroy();
  }
  late.sort((a, b) => a - b);
  return {
    startedAt,
    samples,
    lateMs: { p99: Math.round(late[Math.floor(0.99 * (late.length - 1))] ?? 0), max: Math.round(late.at(-1) ?? 0) },
    polls,
  };
}

/** One request on `agent`; status 0 for a network error or timeout, the body parsed when it is JSON. */
export function send(
  agent: Agent,
  method: string,
  url: string,
  body: string | undefined,
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<{ status: number; error?: string; body?: Record<string, unknown> }> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = {
      ...extraHeaders,
      ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
    };
    // A waiting POST may be held up to 30 s by the store before it answers: the socket timeout must outlast it.
    const req = request(url, { method, agent, timeout: 30_000 + 1000 * Number(/wait=(\d+)/.exec(extraHeaders.prefer ?? '')?.[1] ?? 0), headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        let parsed: Record<string, unknown> | undefined;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ status: 0, error: error.code ?? error.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ status: 0, error: error.code ?? error.message }));
    req.end(body);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
