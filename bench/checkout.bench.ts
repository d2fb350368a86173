import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { moduleRoleName, moduleRolePassword, roleSecret } from '../src/platform/database/provisioning.js';
import { benchDatabase } from './support/bench-database.js';
import { type CpuShare, type CpuSnapshot, cpuBetween, cpuOver, cpuSnapshot, MACHINE, machineBusy } from './support/cpu-usage.js';
import { JsonClient } from './support/json-http.js';
import { mean, option, percentile, printTable } from './support/stats.js';
import { type RunningProcess, servingPort, start, stop } from './support/store-process.js';

/**
 * Checkout end to end on this machine, against its floor in the same run:
 * 1. baseline: one bare Postgres "outbox transaction" (BEGIN; an orders.orders-shaped
 *    row; an outbox event with its delivery row; COMMIT) with plain pg, as the
 *    orders role, into copies of those tables that nothing else reads;
 * 2. end-to-end latency: sequential checkouts, each from POST /orders until
 *    GET /orders/:id answers CONFIRMED (polled like a client), with where the
 *    time went from the saga log's timestamps;
 *    (1 and 2 alternate in blocks, so a disturbance weighs on both sides of the ratio);
 * 3. sustained completed checkouts/s: autocannon POSTs /orders for --duration s
 *    at --connections, then the run waits until no order is PENDING;
 *    completed/s = CONFIRMED orders / (load start -> last confirmation).
 *    The POSTs are not throttled by the saga: an order still PENDING past
 *    CHECKOUT_DEADLINE_MS (30 s) is CANCELLED as TIMED_OUT, and so not counted.
 * Each phase also says where the CPU went (store, this process, Postgres, the
 * rest of the machine) and how many write transactions a checkout cost.
 *
 * The store runs as a spawned process (`node dist/src/main.js`, as `npm start`
 * runs it), not in this process: with two cores, autocannon and the polling
 * client in the store's own event loop would take turns with the very handlers
 * they measure. Apart from PORT and DATABASE_URL the store gets this process's
 * environment, so e.g. DB_POOL_SIZE=10 or CHECKOUT_DEADLINE_MS=60000 on the
 * command line reach it.
 *
 * Usage: npm run bench:checkout [-- --checkouts 300 --baseline 500 --warm-up 100 --duration 10
 *        --connections 32 --poll-ms 1 --products 1 --cpu-prof]
 * --products N: the load's orders buy N products in turn. With 1 (the default) every order takes
 * the same stock row, whose lock then orders the reservations one at a time: a best seller.
 * --cpu-prof writes a V8 CPU profile of the store to $TMPDIR/mf-checkout-cpu-prof/ (open it in Chrome DevTools).
 */

/** `--without <module>`: the same build less one module (its folder left out of a copy), e.g. to weigh a subscriber. */
const WITHOUT = process.argv.includes('--without') ? process.argv[process.argv.indexOf('--without') + 1] : undefined;
const BUILD = fileURLToPath(new URL('../', import.meta.url));
const MAIN = WITHOUT ? buildWithout(WITHOUT) : fileURLToPath(new URL('../src/main.js', import.meta.url));
const PROFILE_DIR = join(tmpdir(), 'mf-checkout-cpu-prof');

const BASELINE = option('baseline', 500);
const CHECKOUTS = option('checkouts', 300);
const WARM_UP = option('warm-up', 100);
const DURATION_S = option('duration', 10);
const CONNECTIONS = option('connections', 32);
const POLL_MS = option('poll-ms', 1);
const CPU_PROF = process.argv.includes('--cpu-prof');
/** `--summary-file <path>`: the run's headline figures as JSON, for bench/subscriber-cost.bench.ts. */
const SUMMARY_FILE = process.argv.includes('--summary-file') ? process.argv[process.argv.indexOf('--summary-file') + 1] : undefined;

export interface CheckoutSummary {
  /** % of one core the machine was busy before the run (null where it cannot be read). */
  readonly busyBefore: number | null;
  readonly p50Ratio: number;
  readonly completedPerSecond: number;
  readonly xidsSequential: number;
  readonly xidsUnderLoad: number;
  /** CPU ms of the whole machine per checkout under load (null where it cannot be read). */
  readonly machineCpuMsUnderLoad: number | null;
}
/** Blocks in which baseline transactions and checkouts alternate. */
const BLOCKS = 10;

/** Block `block`'s part of `total` (the parts add up to `total`). */
const share = (total: number, block: number) => Math.floor(((block + 1) * total) / BLOCKS) - Math.floor((block * total) / BLOCKS);

/** The targets for 2 cores with Postgres on the same machine. */
const TARGET_RATIO = 12;
const TARGET_COMPLETED_PER_S = 300;

/** `--products N`: the load's orders each buy one of N products in turn (1: every order buys the same one). */
const PRODUCTS = option('products', 1);
const SKU = 'BENCH-KETTLE';
const skuOf = (n: number) => (n % PRODUCTS === 0 ? SKU : `${SKU}-${n % PRODUCTS}`);
const STOCK = 1_000_000; // the API's maximum: no run here can exhaust it

const order = (customerId: string, sku = SKU) => ({
  customerId,
  items: [{ sku, quantity: 1 }],
  paymentToken: 'tok_visa',
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
});

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`no build at ${MAIN}: run \`npm run build\``);
  // Other workloads on the machine skew every number below: say so up front.
  const busyBefore = await machineBusy(2_000);
  const database = await benchDatabase('mf_bench_checkout');
  const admin = new pg.Client({ connectionString: database.url });
  let store: RunningProcess | undefined;
  let client: JsonClient | undefined;
  try {
    store = start(process.execPath, [...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []), MAIN], {
      ...process.env,
      DATABASE_URL: database.url,
      PORT: '0',
      // "serving on port N" is logged at info; nothing is logged per request.
      LOG_LEVEL: 'info',
    });
    const port = await servingPort(store);
    const base = `http://127.0.0.1:${port}`;
    client = new JsonClient(base);
    await admin.connect();
    const server = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
    console.error(
      `checkout bench: node ${process.version}, ${cpus().length} CPUs, PostgreSQL ${server} ` +
        `(${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded'}), store pid ${store.child.pid}${CPU_PROF ? `, profiling the store into ${PROFILE_DIR}` : ''}`,
    );

    for (let n = 0; n < PRODUCTS; n++) {
      await client.expect(201, 'POST', '/inventory/products', { sku: skuOf(n), name: 'Kettle', priceCents: 2599, stock: STOCK });
    }

    // Warm-up: JIT, pools, query plans, on every path the measured checkouts take.
    console.error(`  warm-up: ${WARM_UP} checkouts`);
    for (let i = 0; i < WARM_UP; i++) await checkoutToEnd(client, `warm-${i}`);

    // The baseline and the checkouts alternate in blocks, so that a disturbance (another
    // workload, a checkpoint) weighs on both sides of the ratio rather than on one.
    console.error(`  ${BASELINE} bare outbox transactions and ${CHECKOUTS} sequential checkouts (polling every ${POLL_MS} ms), in ${BLOCKS} alternating blocks`);
    const bareOutbox = await BareOutbox.open(database.url);
    const bare: number[] = [];
    const post: number[] = [];
    const endToEnd: number[] = [];
    const polls: number[] = [];
    const runs: CheckoutRun[] = [];
    const e2eCpuIntervals: Array<[CpuSnapshot, CpuSnapshot]> = [];
    let e2eWrites: Writes = { xids: 0, walBytes: 0 };
    try {
      for (let block = 0; block < BLOCKS; block++) {
        await bareOutbox.commit(share(BASELINE, block), bare);
        const cpuBefore = cpuSnapshot(store.child.pid!);
        const writesBefore = await writeCounters(admin);
        for (let i = 0; i < share(CHECKOUTS, block); i++) {
          const run = await checkoutToEnd(client, `e2e-${runs.length}`);
          if (run.status !== 'CONFIRMED') throw new Error(`order ${run.orderId} ended ${run.status}, not CONFIRMED`);
          post.push(run.postMs);
          endToEnd.push(run.endToEndMs);
          polls.push(run.polls);
          runs.push(run);
        }
        e2eCpuIntervals.push([cpuBefore, cpuSnapshot(store.child.pid!)]);
        e2eWrites = addWrites(e2eWrites, writesBefore, await writeCounters(admin));
      }
    } finally {
      await bareOutbox.close();
    }
    const e2eCpu = cpuOver(e2eCpuIntervals);
    const phases = await phasesOf(client, runs);

    console.error(`  throughput: autocannon, ${CONNECTIONS} connections for ${DURATION_S} s`);
    const load = await sustained(base, admin, store.child.pid!);

    const bareP50 = percentile(bare, 50);
    const e2eP50 = percentile(endToEnd, 50);
    console.log(
      `\nCheckout on this machine (${cpus().length} CPUs; ${CHECKOUTS} sequential checkouts; load: ${CONNECTIONS} connections for ${DURATION_S} s)` +
        (WITHOUT ? `, the build without module ${WITHOUT}` : ''),
    );
    if (busyBefore !== undefined) {
      const note = busyBefore > 20 ? ' - other workloads were running: the numbers are skewed' : '';
      console.log(`machine busy before the run: ${busyBefore.toFixed(0)}% of one core${note}`);
    }
    console.log('');
    printTable(
      ['measure', 'p50 ms', 'p99 ms', 'mean ms', 'x baseline p50'],
      [
        ['bare outbox transaction (baseline: BEGIN, order row, outbox row, COMMIT)', bareP50, percentile(bare, 99), mean(bare), 1],
        ['POST /orders -> 202', percentile(post, 50), percentile(post, 99), mean(post), percentile(post, 50) / bareP50],
        ['checkout end to end: POST -> GET answers CONFIRMED', e2eP50, percentile(endToEnd, 99), mean(endToEnd), e2eP50 / bareP50],
      ],
    );
    console.log(`(GET polls per checkout: p50 ${percentile(polls, 50)}, max ${Math.max(...polls)})\n`);
    console.log('Where the end-to-end time goes (from the saga log; client and Postgres share one clock)\n');
    printTable(['phase', 'p50 ms', 'p99 ms', 'mean ms'], phases.map(([name, ms]) => [name, percentile(ms, 50), percentile(ms, 99), mean(ms)]));
    console.log('');
    printCpu(`CPU during the sequential checkouts (${CHECKOUTS} checkouts)`, e2eCpu, CHECKOUTS);
    console.log(`\nPostgres per checkout: ${describeWrites(e2eWrites, CHECKOUTS)}`);

    console.log('');
    printTable(
      ['throughput', 'value'],
      [
        ['POSTs answered 202 (autocannon)', load.accepted],
        ['POST req/s (autocannon, mean)', load.requestsPerSecond],
        ['POST latency p50 / p99 ms (autocannon)', `${load.latencyP50} / ${load.latencyP99}`],
        ['non-2xx / errors / timeouts', `${load.non2xx} / ${load.errors} / ${load.timeouts}`],
        ['orders still PENDING when the load stopped', load.pendingAtLoadEnd],
        ['orders CONFIRMED', load.confirmed],
        ['orders CANCELLED (by reason)', load.cancelled],
        ['load start -> last order confirmed, s', load.seconds],
        ['  confirmed/s while the POSTs went on', load.confirmedDuringLoad],
        ['  confirmed/s draining the backlog after the load', load.drainPerSecond],
        ['completed checkouts/s (sustained: all confirmed / load start -> last confirmed)', load.completedPerSecond],
      ],
    );
    console.log('');
    printCpu(`CPU during the load (load start -> quiet, ${load.confirmed} checkouts)`, load.cpu, load.confirmed);
    console.log(`\nPostgres per checkout: ${load.writes}`);

    console.log('');
    const ratio = e2eP50 / bareP50;
    printTable(
      ['target (2 cores, Postgres on the same machine)', 'target', 'measured', 'met'],
      [
        ['p50 end to end / p50 outbox transaction', `<= ${TARGET_RATIO}x`, `${ratio.toFixed(1)}x`, ratio <= TARGET_RATIO ? 'yes' : 'NO'],
        ['completed checkouts/s', `>= ${TARGET_COMPLETED_PER_S}`, load.completedPerSecond.toFixed(1), load.completedPerSecond >= TARGET_COMPLETED_PER_S ? 'yes' : 'NO'],
      ],
    );
    if (SUMMARY_FILE) {
      const summary: CheckoutSummary = {
        busyBefore: busyBefore ?? null,
        p50Ratio: ratio,
        completedPerSecond: load.completedPerSecond,
        xidsSequential: e2eWrites.xids / CHECKOUTS,
        xidsUnderLoad: load.xidsPerCheckout,
        machineCpuMsUnderLoad: machineCpuMs(load.cpu, load.confirmed),
      };
      writeFileSync(SUMMARY_FILE, JSON.stringify(summary));
    }
  } finally {
    client?.close();
    await admin.end().catch(() => {});
    try {
      // A store that already died (it failed to start) has said why in servingPort's error.
      if (store && store.child.exitCode === null && store.child.signalCode === null) await stop(store);
    } finally {
      if (WITHOUT) rmSync(dirname(dirname(MAIN)), { recursive: true, force: true });
      await database.drop();
    }
  }
}

interface CheckoutRun {
  readonly orderId: string;
  readonly status: string;
  /** Wall clock (ms since the epoch, sub-ms) when the POST was sent and when CONFIRMED was seen. */
  readonly sentAt: number;
  readonly seenAt: number;
  readonly postMs: number;
  readonly endToEndMs: number;
  readonly polls: number;
}

/** POST /orders, then GET /orders/:id every POLL_MS until it is no longer PENDING. */
async function checkoutToEnd(client: JsonClient, customerId: string): Promise<CheckoutRun> {
  const sentAt = performance.timeOrigin + performance.now();
  const start = performance.now();
  const { orderId } = await client.expect(202, 'POST', '/orders', order(customerId));
  const posted = performance.now();
  let polls = 0;
  for (;;) {
    polls++;
    const { status } = await client.expect(200, 'GET', `/orders/${orderId}`);
    if (status !== 'PENDING') {
      const end = performance.now();
      return { orderId, status, sentAt, seenAt: performance.timeOrigin + end, postMs: posted - start, endToEndMs: end - start, polls };
    }
    if (performance.now() - start > 60_000) throw new Error(`order ${orderId} still PENDING after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Splits each checkout at the saga log's timestamps (clock_timestamp() inside
 * each transaction, so a little before its commit): read after the timed loop.
 */
async function phasesOf(client: JsonClient, runs: readonly CheckoutRun[]): Promise<Array<[string, number[]]>> {
  const names = [
    'POST sent -> order written (HTTP, validation, prices, place-order tx)',
    'placed -> charged (202, runner wake, charge: intent, provider, outcome)',
    'charged -> stock reserved (reserve; the charge is recorded with the end)',
    'reserved -> shipment scheduled (schedule, one saga write + CONFIRMED)',
    'confirmed -> client sees CONFIRMED (commit, poll interval, GET)',
  ];
  const phases: number[][] = names.map(() => []);
  for (const run of runs) {
    const log: Array<{ step: string; status: string; at: string }> = await client.expect(200, 'GET', `/orders/${run.orderId}/saga`);
    const at = (step: string, status: string) => Date.parse(log.find((e) => e.step === step && e.status === status)!.at);
    const marks = [
      run.sentAt,
      at('CHARGE_PAYMENT', 'STARTED'),
      at('CHARGE_PAYMENT', 'SUCCEEDED'),
      at('RESERVE_STOCK', 'SUCCEEDED'),
      at('SCHEDULE_SHIPMENT', 'SUCCEEDED'),
      run.seenAt,
    ];
    for (let i = 0; i < names.length; i++) phases[i].push(marks[i + 1] - marks[i]);
  }
  return names.map((name, i) => [name, phases[i]]);
}

/**
 * The floor of one checkout write: the rows place-order commits that matter
 * for the shape (an orders.orders row, an outbox event and its delivery row),
 * committed with a bare pg client as the orders role, into copies of those
 * tables that no relay reads; dropped on close.
 */
class BareOutbox {
  private constructor(private readonly client: pg.Client) {}

  static async open(adminUrl: string): Promise<BareOutbox> {
    const url = new URL(adminUrl);
    url.username = moduleRoleName('orders');
    url.password = moduleRolePassword(roleSecret(adminUrl, process.env.DB_ROLE_SECRET), 'orders');
    const client = new pg.Client({ connectionString: url.toString() });
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

interface Sustained {
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
  readonly completedPerSecond: number;
  readonly cpu: CpuShare[];
  readonly writes: string;
  readonly xidsPerCheckout: number;
}

function machineCpuMs(shares: readonly CpuShare[], checkouts: number): number | null {
  const machine = shares.find((share) => share.name === MACHINE);
  return machine === undefined || checkouts === 0 ? null : machine.cpuMs / checkouts;
}

/** Each request's body buys the next product. */
function nextProduct(): (request: autocannon.Request) => autocannon.Request {
  let n = 0;
  return (request) => ({ ...request, body: JSON.stringify(order('load', skuOf(n++))) });
}

/** autocannon on POST /orders (a fixed body: each POST is a new order), then until quiet. */
async function sustained(base: string, admin: pg.Client, storePid: number): Promise<Sustained> {
  const { rows: [{ t: loadStart }] } = await admin.query<{ t: Date }>('SELECT clock_timestamp() AS t');
  const cpuBefore = cpuSnapshot(storePid);
  const writesBefore = await writeCounters(admin);
  const result = await autocannon({
    url: `${base}/orders`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(order('load')),
    ...(PRODUCTS > 1 ? { requests: [{ setupRequest: nextProduct() }] } : {}),
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  const { rows: [atLoadEnd] } = await admin.query<{ t: Date; pending: number; confirmed: number }>(
    `SELECT clock_timestamp() AS t, count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
            count(*) FILTER (WHERE status = 'CONFIRMED')::int AS confirmed
       FROM orders.orders WHERE customer_id = 'load'`,
  );
  const pendingAtLoadEnd = atLoadEnd.pending;
  const deadline = performance.now() + 300_000;
  while ((await pending(admin)) > 0) {
    if (performance.now() > deadline) throw new Error(`orders still PENDING 300 s after the load`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const cpu = cpuBetween(cpuBefore, cpuSnapshot(storePid));
  const writesAfter = await writeCounters(admin);
  const writes = addWrites({ xids: 0, walBytes: 0 }, writesBefore, writesAfter);
  const { rows } = await admin.query<{ status: string; reason: string | null; n: number; last: Date }>(
    `SELECT status, failure_reason AS reason, count(*)::int AS n, max(updated_at) AS last
       FROM orders.orders WHERE customer_id = 'load' GROUP BY 1, 2`,
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
    pendingAtLoadEnd,
    confirmedDuringLoad: atLoadEnd.confirmed / ((atLoadEnd.t.getTime() - loadStart.getTime()) / 1000),
    drainPerSecond: confirmedRow ? (confirmed - atLoadEnd.confirmed) / ((confirmedRow.last.getTime() - atLoadEnd.t.getTime()) / 1000) : Number.NaN,
    confirmed,
    cancelled: cancelled.length > 0 ? cancelled.join(', ') : '0',
    seconds,
    completedPerSecond: confirmed / seconds,
    cpu,
    writes: describeWrites(writes, confirmed),
    xidsPerCheckout: writes.xids / confirmed,
  };
}

interface WriteCounters {
  readonly nextXid: bigint;
  readonly lsn: string;
}

/** Write transactions (xids consumed) and WAL bytes, server-wide. */
interface Writes {
  readonly xids: number;
  readonly walBytes: number;
}

/** The next transaction id and the WAL position, read without consuming an xid. */
async function writeCounters(admin: pg.Client): Promise<WriteCounters> {
  const { rows } = await admin.query<{ xid: string; lsn: string }>(
    'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid, pg_current_wal_lsn()::text AS lsn',
  );
  return { nextXid: BigInt(rows[0].xid), lsn: rows[0].lsn };
}

function addWrites(sum: Writes, before: WriteCounters, after: WriteCounters): Writes {
  const bytes = (lsn: string) => {
    const [high, low] = lsn.split('/').map((part) => parseInt(part, 16));
    return high * 2 ** 32 + low;
  };
  return { xids: sum.xids + Number(after.nextXid - before.nextXid), walBytes: sum.walBytes + bytes(after.lsn) - bytes(before.lsn) };
}

function describeWrites(writes: Writes, checkouts: number): string {
  return (
    `${(writes.xids / checkouts).toFixed(1)} write transactions (xids), ${(writes.walBytes / checkouts / 1024).toFixed(1)} KiB WAL ` +
    '(server-wide: writes to other databases count too)'
  );
}

async function pending(admin: pg.Client): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders.orders WHERE status = 'PENDING'`);
  return rows[0].n;
}

function printCpu(title: string, shares: readonly CpuShare[], checkouts: number): void {
  console.log(`${title}\n`);
  printTable(
    ['process', 'CPU s', '% of one core', 'CPU ms per checkout'],
    shares.map((share) => [share.name, share.cpuMs / 1000, share.percentOfCore, share.cpuMs / checkouts]),
  );
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});

/** A copy of this build beside it without `src/modules/<module>` and `migrations/<module>`; answers its main.js. */
function buildWithout(module: string): string {
  const source = realpathSync(BUILD);
  if (!existsSync(join(source, 'src', 'modules', module))) {
    console.error(`bench: --without: no module '${module}' in this build`);
    process.exit(1);
  }
  const copy = join(dirname(source), `.bench-without-${module}-${process.pid}`);
  cpSync(source, copy, {
    recursive: true,
    filter: (path) => !path.startsWith(join(source, 'src', 'modules', module)) && !path.startsWith(join(source, 'migrations', module)),
  });
  return join(copy, 'src', 'main.js');
}
