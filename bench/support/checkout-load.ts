import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { provisionModule } from '../../src/platform/database/provisioning.js';
import { type CpuShare, cpuBetween, cpuSnapshot, MACHINE } from './cpu-usage.js';
import type { JsonClient } from './json-http.js';

/**
 * What the checkout benches share: the order they place, a checkout from POST
 * to CONFIRMED as a client sees it, the bare outbox transaction that is its
 * floor, a burst of load and its count, and Postgres's write counters.
 */

export const SKU = 'BENCH-KETTLE';
export const STOCK = 1_000_000; // the API's maximum: no run can exhaust it

/** The `n`th of `products` products a load buys in turn (n = 0 is SKU). */
export const skuOf = (n: number, products: number) => (n % products === 0 ? SKU : `${SKU}-${n % products}`);

export const order = (customerId: string, sku = SKU) => ({
  customerId,
  items: [{ sku, quantity: 1 }],
  paymentToken: 'tok_visa',
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
});

/** Creates the products the orders buy. */
export async function seedProducts(client: JsonClient, products: number): Promise<void> {
  for (let n = 0; n < products; n++) {
    await client.expect(201, 'POST', '/inventory/products', { sku: skuOf(n, products), name: 'Kettle', priceCents: 2599, stock: STOCK });
  }
}

export interface CheckoutRun {
  readonly orderId: string;
  readonly status: string;
  /** Wall clock (ms since the epoch, sub-ms) when the POST was sent and when CONFIRMED was seen. */
  readonly sentAt: number;
  readonly seenAt: number;
  readonly postMs: number;
  readonly endToEndMs: number;
  readonly polls: number;
}

/** POST /orders, then GET /orders/:id every `pollMs` until it is no longer PENDING. */
export async function checkoutToEnd(client: JsonClient, customerId: string, pollMs: number): Promise<CheckoutRun> {
  const sentAt = performance.timeOrigin + performance.now();
  const start = performance.now();
  const { orderId } = await client.expect<{ orderId: string }>(202, 'POST', '/orders', order(customerId));
  const posted = performance.now();
  let polls = 0;
  for (;;) {
    polls++;
    const { status } = await client.expect<{ status: string }>(200, 'GET', `/orders/${orderId}`);
    if (status !== 'PENDING') {
      const end = performance.now();
      return { orderId, status, sentAt, seenAt: performance.timeOrigin + end, postMs: posted - start, endToEndMs: end - start, polls };
    }
    if (performance.now() - start > 60_000) throw new Error(`order ${orderId} still PENDING after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * The floor of one checkout write: the rows place-order commits that matter
 * for the shape (an orders.orders row, an outbox event and its delivery row),
 * committed with a bare pg client as the orders role, into copies of those
 * tables that no relay reads; dropped on close.
 */
export class BareOutbox {
  private constructor(private readonly client: pg.Client) {}

  static async open(adminUrl: string): Promise<BareOutbox> {
    // Provisioning is idempotent and answers the role's URL (the password the store's processes derive).
    const { url } = await provisionModule(adminUrl, 'orders', process.env.DB_ROLE_SECRET);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('CREATE TABLE orders.bare_orders (LIKE orders.orders INCLUDING ALL)');
      await client.query('CREATE TABLE orders.bare_outbox (LIKE orders.outbox INCLUDING ALL)');
      await client.query('CREATE TABLE orders.bare_deliveries (LIKE orders.outbox_deliveries INCLUDING ALL)');
    } catch (error) {
      await client.end();
      throw error;
    }
    return new BareOutbox(client);
  }

  /** Commits `count` transactions one after the other, adding each one's ms to `samples`. */
  async commit(count: number, samples: number[]): Promise<void> {
    for (let i = 0; i < count; i++) {
      const orderId = randomUUID();
      const start = performance.now();
      await this.client.query('BEGIN');
      await this.client.query(
        `INSERT INTO orders.bare_orders (id, customer_id, status, total_cents, payment_token, shipping_address, request_fingerprint)
         VALUES ($1, $2, 'PENDING', $3, 'tok_visa', $4, $5)`,
        [orderId, 'bare', 2599, JSON.stringify(order('bare').shippingAddress), orderId],
      );
      await this.client.query(
        `WITH written AS (
           INSERT INTO orders.bare_outbox (id, name, version, aggregate_id, payload)
           VALUES ($1, 'orders.OrderPlaced', 1, $2, $3) RETURNING id, position, aggregate_id)
         INSERT INTO orders.bare_deliveries (event_id, subscriber, position, aggregate_id)
         SELECT id, 'bench.on-order-placed', position, aggregate_id FROM written`,
        [randomUUID(), orderId, JSON.stringify({ orderId, customerId: 'bare', totalCents: 2599 })],
      );
      await this.client.query('COMMIT');
      samples.push(performance.now() - start);
    }
  }

  async close(): Promise<void> {
    await this.client.query('DROP TABLE orders.bare_deliveries, orders.bare_outbox, orders.bare_orders').catch(() => {});
    await this.client.end();
  }
}

export interface LoadOptions {
  readonly base: string;
  /** A connection to the store's database, as its owner. */
  readonly admin: pg.Client;
  readonly storePid: number;
  /** The customer id of the load's orders: what is counted. */
  readonly customerId: string;
  readonly durationS: number;
  readonly connections: number;
  /** The orders buy this many products in turn (1: every order buys SKU). */
  readonly products: number;
}

export interface LoadResult {
  readonly accepted: number;
  readonly requestsPerSecond: number;
  readonly latencyP50: number;
  readonly latencyP99: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly pendingAtLoadEnd: number;
  /** Checkouts/s confirmed while the POSTs went on, and afterwards while the backlog drained (the saga alone). */
  readonly confirmedDuringLoad: number;
  readonly drainPerSecond: number;
  readonly confirmed: number;
  readonly cancelled: string;
  readonly seconds: number;
  /** CONFIRMED orders / (load start -> last confirmation). */
  readonly completedPerSecond: number;
  readonly cpu: CpuShare[];
  readonly writes: Writes;
}

/**
 * autocannon on POST /orders for `durationS` (a fixed body, or one per
 * product in turn: each POST is a new order), then until no order is PENDING.
 * The POSTs are not throttled by the saga: an order still PENDING past
 * CHECKOUT_DEADLINE_MS is CANCELLED as TIMED_OUT, and so not counted.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const { admin, customerId, products } = options;
  const {
    rows: [{ t: loadStart }],
  } = await admin.query<{ t: Date }>('SELECT clock_timestamp() AS t');
  const cpuBefore = cpuSnapshot(options.storePid);
  const writesBefore = await writeCounters(admin);
  let n = 0;
  const result = await autocannon({
    url: `${options.base}/orders`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(order(customerId)),
    ...(products > 1 ? { requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(order(customerId, skuOf(n++, products))) }) }] } : {}),
    connections: options.connections,
    duration: options.durationS,
  });
  const {
    rows: [atLoadEnd],
  } = await admin.query<{ t: Date; pending: number; confirmed: number }>(
    `SELECT clock_timestamp() AS t, count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
            count(*) FILTER (WHERE status = 'CONFIRMED')::int AS confirmed
       FROM orders.orders WHERE customer_id = $1`,
    [customerId],
  );
  const deadline = performance.now() + 300_000;
  while ((await pending(admin)) > 0) {
    if (performance.now() > deadline) throw new Error(`orders still PENDING 300 s after the load`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const cpu = cpuBetween(cpuBefore, cpuSnapshot(options.storePid));
  const writes = addWrites(NO_WRITES, writesBefore, await writeCounters(admin));
  const { rows } = await admin.query<{ status: string; reason: string | null; n: number; last: Date }>(
    `SELECT status, failure_reason AS reason, count(*)::int AS n, max(updated_at) AS last
       FROM orders.orders WHERE customer_id = $1 GROUP BY 1, 2`,
    [customerId],
  );
  const confirmedRow = rows.find((row) => row.status === 'CONFIRMED');
  const confirmed = confirmedRow?.n ?? 0;
  const seconds = confirmedRow ? (confirmedRow.last.getTime() - loadStart.getTime()) / 1000 : Number.NaN;
  const cancelled = rows.filter((row) => row.status === 'CANCELLED').map((row) => `${row.reason}: ${row.n}`);
  return {
    accepted: result['2xx'],
    requestsPerSecond: result.requests.average,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    pendingAtLoadEnd: atLoadEnd.pending,
    confirmedDuringLoad: atLoadEnd.confirmed / ((atLoadEnd.t.getTime() - loadStart.getTime()) / 1000),
    drainPerSecond: confirmedRow ? (confirmed - atLoadEnd.confirmed) / ((confirmedRow.last.getTime() - atLoadEnd.t.getTime()) / 1000) : Number.NaN,
    confirmed,
    cancelled: cancelled.length > 0 ? cancelled.join(', ') : '0',
    seconds,
    completedPerSecond: confirmed / seconds,
    cpu,
    writes,
  };
}

/** CPU ms of the whole machine per checkout (null where it cannot be read). */
export function machineCpuMs(shares: readonly CpuShare[], checkouts: number): number | null {
  const machine = shares.find((share) => share.name === MACHINE);
  return machine === undefined || checkouts === 0 ? null : machine.cpuMs / checkouts;
}

export interface WriteCounters {
  readonly nextXid: bigint;
  readonly lsn: string;
}

/** Write transactions (xids consumed) and WAL bytes, server-wide. */
export interface Writes {
  readonly xids: number;
  readonly walBytes: number;
}

export const NO_WRITES: Writes = { xids: 0, walBytes: 0 };

/** The next transaction id and the WAL position, read without consuming an xid. */
export async function writeCounters(admin: pg.Client): Promise<WriteCounters> {
  const { rows } = await admin.query<{ xid: string; lsn: string }>(
    'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid, pg_current_wal_lsn()::text AS lsn',
  );
  return { nextXid: BigInt(rows[0].xid), lsn: rows[0].lsn };
}

export function addWrites(sum: Writes, before: WriteCounters, after: WriteCounters): Writes {
  const bytes = (lsn: string) => {
    const [high, low] = lsn.split('/').map((part) => parseInt(part, 16));
    return high * 2 ** 32 + low;
  };
  return { xids: sum.xids + Number(after.nextXid - before.nextXid), walBytes: sum.walBytes + bytes(after.lsn) - bytes(before.lsn) };
}

export function describeWrites(writes: Writes, checkouts: number): string {
  return (
    `${(writes.xids / checkouts).toFixed(1)} write transactions (xids), ${(writes.walBytes / checkouts / 1024).toFixed(1)} KiB WAL ` +
    '(server-wide: writes to other databases count too)'
  );
}

async function pending(admin: pg.Client): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders.orders WHERE status = 'PENDING'`);
  return rows[0].n;
}

/**
 * A copy of the build at `build` beside it without `src/modules/<module>` and
 * `migrations/<module>`: answers its main.js (remove with `removeBuildWithout`).
 */
export function buildWithout(build: string, module: string): string {
  const source = realpathSync(build);
  if (!existsSync(join(source, 'src', 'modules', module))) throw new Error(`--without: no module '${module}' in this build`);
  const copy = join(dirname(source), `.bench-without-${module}-${process.pid}`);
  cpSync(source, copy, {
    recursive: true,
    filter: (path) => !path.startsWith(join(source, 'src', 'modules', module)) && !path.startsWith(join(source, 'migrations', module)),
  });
  return join(copy, 'src', 'main.js');
}

/** The copy's directory, from the main.js `buildWithout` answered. */
export const buildWithoutDir = (main: string) => dirname(dirname(main));
