import autocannon from 'autocannon';
import pg from 'pg';
import { waitForQuiet } from '../support/store-invariants.js';
import { delta, type MetricsSnapshot, scrape } from './metrics-scrape.js';
import { type MachineStats, type ProcessStats, ProcessSampler, type ProcessTarget } from './process-stats.js';
import { type Histogram, histogram, type Percentiles, percentiles, round } from './stats.js';

/**
 * The same load against each topology: autocannon POSTing /orders (every POST
 * a new order of one unit of a product stocked far beyond what a run can
 * sell) at `concurrency` connections for `durationS`, after a short warm-up.
 * Then the run waits until no order is PENDING, and reads from the database:
 * - completed checkouts/s: CONFIRMED orders / (load start -> last one confirmed);
 * - end-to-end saga latency of each CONFIRMED order: orders.created_at ->
 *   updated_at, both Postgres transaction timestamps (from the place-order
 *   transaction to the one that confirmed it; the HTTP time around them is
 *   not included: that is the POST's latency, measured by autocannon).
 * During the load (load start -> quiet) each process's CPU and RSS are sampled,
 * and the /metrics counters of every process are read before and after.
 */
export interface LoadOptions {
  readonly baseUrl: string;
  readonly adminUrl: string;
  readonly durationS: number;
  readonly concurrency: number;
  readonly sku: string;
  /**
   * Spread the orders over these products, one after the other, instead of `sku` alone: with one
   * product every checkout queues on that product's row lock (the plain monolith's one
   * transaction most of all), which measures the lock more than the placement.
   */
  readonly skus?: readonly string[];
  readonly processes: readonly ProcessTarget[];
  /** The database server's postmaster, for its CPU (undefined: every postgres process on the machine). */
  readonly postmaster: number | undefined;
  /** Every process's HTTP port, or base URL (each serves /metrics). */
  readonly metricsPorts: readonly (number | string)[];
  readonly warmUpS: number;
  readonly drainTimeoutMs: number;
  readonly onTick: (text: string) => void;
  /** Where the orders are: the store's `orders.orders`, or the baseline's table (its orders are terminal when the POST answers). */
  readonly ordersTable?: string;
}

export interface LoadResult {
  readonly durationS: number;
  readonly concurrency: number;
  readonly posts: number;
  readonly accepted: number;
  readonly postsPerSecond: number;
  /** Non-2xx answers by status, and network errors / timeouts. */
  readonly rejected: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly timeouts: number;
  /** Latency of the accepted POSTs (autocannon's response time), ms. */
  readonly postLatencyMs: Percentiles;
  readonly postHistogram: Histogram;
  /** orders.created_at -> updated_at of the CONFIRMED orders, ms. */
  readonly endToEndMs: Percentiles;
  readonly endToEndHistogram: Histogram;
  readonly pendingAtLoadEnd: number;
  readonly confirmed: number;
  readonly cancelled: Readonly<Record<string, number>>;
  /** Still PENDING when the drain timed out (then the numbers below are a floor). */
  readonly stillPending: number;
  /** Load start -> last order confirmed, s. */
  readonly completionSeconds: number;
  readonly completedPerSecond: number;
  readonly processes: readonly ProcessStats[];
  /** The machine during the load: busy, and what went to none of the processes above (other workloads skew the numbers). */
  readonly machine: MachineStats | null;
  readonly perCheckout: PerCheckout;
}

export interface PerCheckout {
  /** Calls through module contracts between processes (binding="remote"), all processes summed, per CONFIRMED order. */
  readonly remoteCalls: number;
  /** NATS messages: each remote call is a request and a reply. */
  readonly natsMessages: number;
  /**
   * Network hops, each a one-way transfer between two processes: the client's
   * HTTP request and its answer (2), plus 2 per NATS message (publisher ->
   * NATS server -> subscriber). Postgres round trips are not counted.
   */
  readonly networkHops: number;
  /** HTTP requests the gateway served (POST /orders), per CONFIRMED order. */
  readonly gatewayHttpRequests: number;
  /** "inventory.getPrices" -> remote calls per CONFIRMED order. */
  readonly byOperation: Readonly<Record<string, number>>;
  /** CPU ms of each process per CONFIRMED order. */
  readonly cpuMs: Readonly<Record<string, number>>;
}

const CUSTOMER = 'compare-load';

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const table = options.ordersTable ?? 'orders.orders';
  const settle = (timeoutMs: number, onWait: (n: number) => void) =>
    table === 'orders.orders'
      ? waitForQuiet(options.adminUrl, timeoutMs, onWait)
      : Promise.resolve<{ quiet: boolean; counts: Record<string, number> }>({ quiet: true, counts: {} });
  const bodyOf = (sku: string) =>
    JSON.stringify({
      customerId: CUSTOMER,
      items: [{ sku, quantity: 1 }],
      paymentToken: 'tok_visa',
      shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
    });
  const body = options.skus && options.skus.length > 0 ? options.skus.map(bodyOf) : bodyOf(options.sku);
  // Warm-up: JIT, pools, query plans, connections, on the very path measured; then quiet again.
  if (options.warmUpS > 0) {
    options.onTick(`warm-up ${options.warmUpS} s`);
    const warmUp = Array.isArray(body) ? body.map((each) => each.replace(CUSTOMER, 'compare-warm-up')) : body.replace(CUSTOMER, 'compare-warm-up');
    await cannon(options, 'warm-up', warmUp, options.warmUpS, () => {});
    await settle(options.drainTimeoutMs, (n) => options.onTick(`warm-up: ${n} orders still pending`));
  }

  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  try {
    const before = await Promise.all(options.metricsPorts.map(scrape));
    const sampler = new ProcessSampler(options.processes, options.postmaster);
    const loadStart = await now(admin);
    sampler.start();
    const latencies: number[] = [];
    const rejected: Record<string, number> = {};
    const result = await cannon(options, 'load', body, options.durationS, (status, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
      else rejected[status] = (rejected[status] ?? 0) + 1;
    });
    const {
      rows: [atEnd],
    } = await admin.query<{ pending: number }>(`SELECT count(*) FILTER (WHERE status = 'PENDING')::int AS pending FROM ${table} WHERE customer_id = $1`, [
      CUSTOMER,
    ]);
    const quiet = await settle(options.drainTimeoutMs, (n) => options.onTick(`load done, ${n} orders still pending`));
    const { processes, machine } = sampler.stop();
    const after = await Promise.all(options.metricsPorts.map(scrape));

    const { rows: byStatus } = await admin.query<{ status: string; reason: string | null; n: number }>(
      `SELECT status, failure_reason AS reason, count(*)::int AS n FROM ${table} WHERE customer_id = $1 GROUP BY 1, 2`,
      [CUSTOMER],
    );
    const { rows: e2e } = await admin.query<{ ms: number }>(
      `SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM ${table} WHERE customer_id = $1 AND status = 'CONFIRMED'`,
      [CUSTOMER],
    );
    const {
      rows: [last],
    } = await admin.query<{ seconds: number | null }>(
      `SELECT extract(epoch FROM max(updated_at) - $2::timestamptz) AS seconds FROM ${table} WHERE customer_id = $1 AND status = 'CONFIRMED'`,
      [CUSTOMER, loadStart],
    );
    const confirmed = byStatus.find((r) => r.status === 'CONFIRMED')?.n ?? 0;
    const cancelled = Object.fromEntries(byStatus.filter((r) => r.status === 'CANCELLED').map((r) => [r.reason ?? '?', r.n]));
    const seconds = last.seconds === null ? Number.NaN : Number(last.seconds);
    const endToEnd = e2e.map((r) => Number(r.ms));
    return {
      durationS: options.durationS,
      concurrency: options.concurrency,
      posts: result.requests.total,
      accepted: latencies.length,
      postsPerSecond: round(result.requests.total / options.durationS),
      rejected,
      errors: result.errors,
      timeouts: result.timeouts,
      postLatencyMs: percentiles(latencies),
      postHistogram: histogram(latencies),
      endToEndMs: percentiles(endToEnd),
      endToEndHistogram: histogram(endToEnd),
      pendingAtLoadEnd: atEnd.pending,
      confirmed,
      cancelled,
      stillPending: quiet.quiet ? 0 : (quiet.counts.PENDING ?? 0),
      completionSeconds: round(seconds),
      completedPerSecond: round(confirmed / seconds),
      processes,
      machine,
      perCheckout: perCheckout(delta(before, after), processes, confirmed),
    };
  } finally {
    await admin.end();
  }
}

function perCheckout(counted: MetricsSnapshot, processes: readonly ProcessStats[], confirmed: number): PerCheckout {
  const per = (n: number) => (confirmed > 0 ? round(n / confirmed) : Number.NaN);
  const remote = [...counted.remoteCalls.values()].reduce((s, x) => s + x, 0);
  const http = [...counted.httpRequests].filter(([key]) => key.startsWith('POST /orders')).reduce((s, [, x]) => s + x, 0);
  return {
    remoteCalls: per(remote),
    natsMessages: per(2 * remote),
    networkHops: per(2 * http + 4 * remote),
    gatewayHttpRequests: per(http),
    byOperation: Object.fromEntries([...counted.remoteCalls].sort().map(([key, n]) => [key, per(n)])),
    cpuMs: Object.fromEntries(processes.map((p) => [p.name, per(p.cpuMs)])),
  };
}

async function now(admin: pg.Client): Promise<Date> {
  return (await admin.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0].t;
}

function cannon(
  options: LoadOptions,
  label: string,
  body: string | readonly string[],
  durationS: number,
  onResponse: (status: number, ms: number) => void,
): Promise<autocannon.Result> {
  // Several bodies (a load spread over products): each request takes the next one, over all connections.
  let next = 0;
  const bodies: readonly string[] = typeof body === 'string' ? [body] : body;
  const spread =
    typeof body !== 'string'
      ? { requests: [{ method: 'POST' as const, path: '/orders', setupRequest: (request: object) => ({ ...request, body: bodies[next++ % bodies.length] }) }] }
      : {};
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: `${options.baseUrl}/orders`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bodies[0],
        ...spread,
        connections: options.concurrency,
        duration: durationS,
        timeout: 30,
      },
      (error, result) => {
        clearInterval(ticker);
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(result);
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => onResponse(status, ms));
    const ticker = setInterval(() => {
      options.onTick(`${label} ${Math.min(durationS, Math.round((performance.now() - started) / 1000))}/${durationS} s`);
    }, 1000);
  });
}
