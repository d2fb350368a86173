import { existsSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { benchDatabase } from './support/bench-database.js';
import {
  addWrites,
  BareOutbox,
  buildWithout,
  buildWithoutDir,
  type CheckoutRun,
  checkoutToEnd,
  describeWrites,
  load as loadFor,
  NO_WRITES,
  seedProducts,
  type Writes,
  writeCounters,
} from './support/checkout-load.js';
import { type CpuShare, type CpuSnapshot, cpuOver, cpuSnapshot, machineBusy } from './support/cpu-usage.js';
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
const MAIN = WITHOUT ? withoutModule(WITHOUT) : fileURLToPath(new URL('../src/main.js', import.meta.url));
const PROFILE_DIR = join(tmpdir(), 'mf-checkout-cpu-prof');

const BASELINE = option('baseline', 500);
const CHECKOUTS = option('checkouts', 300);
const WARM_UP = option('warm-up', 100);
const DURATION_S = option('duration', 10);
const CONNECTIONS = option('connections', 32);
const POLL_MS = option('poll-ms', 1);
const CPU_PROF = process.argv.includes('--cpu-prof');
/** Blocks in which baseline transactions and checkouts alternate. */
const BLOCKS = 10;

/** Block `block`'s part of `total` (the parts add up to `total`). */
const share = (total: number, block: number) => Math.floor(((block + 1) * total) / BLOCKS) - Math.floor((block * total) / BLOCKS);

/** The targets for 2 cores with Postgres on the same machine. */
const TARGET_RATIO = 12;
const TARGET_COMPLETED_PER_S = 300;

/** `--products N`: the load's orders each buy one of N products in turn (1: every order buys the same one). */
const PRODUCTS = option('products', 1);

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

    await seedProducts(client, PRODUCTS);

    // Warm-up: JIT, pools, query plans, on every path the measured checkouts take.
    console.error(`  warm-up: ${WARM_UP} checkouts`);
    for (let i = 0; i < WARM_UP; i++) await checkoutToEnd(client, `warm-${i}`, POLL_MS);

    // The baseline and the checkouts alternate in blocks, so that a disturbance (another
    // workload, a checkpoint) weighs on both sides of the ratio rather than on one.
    console.error(
      `  ${BASELINE} bare outbox transactions and ${CHECKOUTS} sequential checkouts (polling every ${POLL_MS} ms), in ${BLOCKS} alternating blocks`,
    );
    const bareOutbox = await BareOutbox.open(database.url);
    const bare: number[] = [];
    const post: number[] = [];
    const endToEnd: number[] = [];
    const polls: number[] = [];
    const runs: CheckoutRun[] = [];
    const e2eCpuIntervals: Array<[CpuSnapshot, CpuSnapshot]> = [];
    let e2eWrites: Writes = NO_WRITES;
    try {
      for (let block = 0; block < BLOCKS; block++) {
        await bareOutbox.commit(share(BASELINE, block), bare);
        const cpuBefore = cpuSnapshot(store.child.pid!);
        const writesBefore = await writeCounters(admin);
        for (let i = 0; i < share(CHECKOUTS, block); i++) {
          const run = await checkoutToEnd(client, `e2e-${runs.length}`, POLL_MS);
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
    const load = await loadFor({
      base,
      admin,
      storePid: store.child.pid!,
      customerId: 'load',
      durationS: DURATION_S,
      connections: CONNECTIONS,
      products: PRODUCTS,
    });

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
    printTable(
      ['phase', 'p50 ms', 'p99 ms', 'mean ms'],
      phases.map(([name, ms]) => [name, percentile(ms, 50), percentile(ms, 99), mean(ms)]),
    );
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
    console.log(`\nPostgres per checkout: ${describeWrites(load.writes, load.confirmed)}`);

    console.log('');
    const ratio = e2eP50 / bareP50;
    printTable(
      ['target (2 cores, Postgres on the same machine)', 'target', 'measured', 'met'],
      [
        ['p50 end to end / p50 outbox transaction', `<= ${TARGET_RATIO}x`, `${ratio.toFixed(1)}x`, ratio <= TARGET_RATIO ? 'yes' : 'NO'],
        [
          'completed checkouts/s',
          `>= ${TARGET_COMPLETED_PER_S}`,
          load.completedPerSecond.toFixed(1),
          load.completedPerSecond >= TARGET_COMPLETED_PER_S ? 'yes' : 'NO',
        ],
      ],
    );
  } finally {
    client?.close();
    await admin.end().catch(() => {});
    try {
      // A store that already died (it failed to start) has said why in servingPort's error.
      if (store && store.child.exitCode === null && store.child.signalCode === null) await stop(store);
    } finally {
      if (WITHOUT) rmSync(buildWithoutDir(MAIN), { recursive: true, force: true });
      await database.drop();
    }
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
    const log = await client.expect<Array<{ step: string; status: string; at: string }>>(200, 'GET', `/orders/${run.orderId}/saga`);
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

function withoutModule(module: string): string {
  try {
    return buildWithout(BUILD, module);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    process.exit(1);
  }
}
