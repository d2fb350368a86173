import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Agent } from 'node:http';
import { cpus } from 'node:os';
import pg from 'pg';
import { discoverModules } from '../src/platform/modules/module-discovery.js';
import { startDatabaseServer } from '../tools/compare/database-server.js';
import { openLoop, type OpenLoopSample, send, sleep } from '../tools/compare/open-loop.js';
import { LOAD_GENERATOR, NATS_SERVER, type ProcessStats, ProcessSampler, type ProcessTarget } from '../tools/compare/process-stats.js';
import { percentile } from '../tools/compare/stats.js';
import { deleteEventStream } from '../tools/support/event-streams.js';
import { PrivateNatsServer } from '../tools/support/nats-server.js';
import { freePortRange, natsReachable } from '../tools/support/network.js';
import { findProcess } from '../tools/support/proc.js';
import { storeInvariantViolations, waitForQuiet } from '../tools/support/store-invariants.js';
import { TopologyProcesses } from '../tools/topology/topology-processes.js';
import { option, printTable } from './support/stats.js';

/**
 * Sustained overload, against the capacity measured in the same run (issue 14):
 * 1. capacity: --capacity-sessions customers, each placing an order and waiting until
 *    it is terminal before placing the next (a closed loop on completion: the store is
 *    kept busy but never flooded, so this is what it can finish), for 3 s of warm-up
 *    and then --capacity-duration s; CONFIRMED orders/s within that window. (A closed
 *    loop on the POST's answer, like autocannon's, measures a flood of refusals instead:
 *    a refusal answers in microseconds, so the connections come back at once.)
 * 2. overload: an open loop (tools/compare/open-loop.ts) POSTing /orders at --multiple
 *    times that capacity for --duration s, whatever the answers (a refusal is not
 *    retried sooner: the offered rate stays what it is), then until no order is PENDING.
 * 3. capacity again, as in 1: other workloads on a shared machine come and go, so the
 *    capacity is the mean of the two, and both are printed.
 * Goodput = orders of the overload CONFIRMED / (overload start -> last confirmed);
 * its ratio to the capacity is the verdict (>= 90%), with the accepted orders that
 * ended TIMED_OUT (must be 0) and the latency of accepted orders, placed -> terminal
 * (orders.created_at -> updated_at, the database's clock). Beside it, the same ratio
 * per CPU second (CPU of the store's processes, NATS and Postgres per CONFIRMED order,
 * at capacity / under overload): what the other workloads take cancels out of it.
 *
 * Each topology runs on a fresh database (DATABASE_URL's server, else an embedded
 * PostgreSQL started for the run, whose CPU is then the run's alone: prefer it on a
 * shared machine), from the build, LOG_LEVEL=error; distributed ones on a private
 * nats-server -js started for the run when the binary is found (NATS_SERVER_BIN,
 * /usr/sbin/nats-server), else (or with --shared-nats) NATS_URL (nats://127.0.0.1:4222).
 * To stop it early, Ctrl-C: the processes and the database go with it.
 *
 * Usage: npm run bench:overload [-- --topologies monolith,microservices --duration 60
 *        --multiple 4 --capacity-duration 10 --capacity-sessions 64]
 */

const TOPOLOGIES = stringOption('topologies', 'monolith,microservices').split(',');
const DURATION_S = option('duration', 60);
const MULTIPLE = option('multiple', 4);
const CAPACITY_DURATION_S = option('capacity-duration', 10);
const CAPACITY_SESSIONS = option('capacity-sessions', 64);
const CAPACITY_WARM_UP_S = 3;
const TARGET_GOODPUT_RATIO = 0.9;
const SKU = 'BENCH-OVERLOAD';
const CUSTOMER = 'overload';

interface Row {
  readonly topology: string;
  readonly uptime: string;
  readonly capacity: number;
  readonly capacityBefore: number;
  readonly capacityAfter: number;
  readonly capacityCpuMsPerCheckout: number;
  readonly cpuMsPerCheckout: number;
  readonly capacityP50Ms: number;
  readonly capacityP99Ms: number;
  readonly offered: number;
  readonly sent: number;
  readonly accepted: number;
  readonly refused: number;
  readonly otherAnswers: string;
  readonly acceptedPerSecond: number;
  readonly completedPerSecond: number;
  readonly goodputRatio: number;
  readonly timedOut: number;
  readonly cancelled: string;
  readonly acceptedP50Ms: number;
  readonly acceptedP99Ms: number;
  readonly refusalP50Ms: number;
  readonly processes: readonly ProcessStats[];
  readonly admission: string;
  readonly violations: readonly string[];
  readonly uptimeAfter: string;
}

/** What a signal must stop before the bench exits: the topology of the moment and its database. */
let cleanup: (() => Promise<void>) | undefined;
let stopNats: (() => Promise<void>) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (cleanup ?? (async () => {}))()
      .then(() => stopNats?.())
      .finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const modules = (await discoverModules()).map((module) => module.definition.name);
  // A private nats-server when there is one (like the compare tool's): its CPU is then the run's alone.
  const natsBinary = process.argv.includes('--shared-nats') || !TOPOLOGIES.some((t) => t !== 'monolith') ? undefined : PrivateNatsServer.findBinary();
  const privateNats = natsBinary ? await PrivateNatsServer.start(natsBinary) : undefined;
  stopNats = privateNats ? () => privateNats.stop() : undefined;
  const natsUrl = privateNats?.url ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const server = await startDatabaseServer();
  const postmaster = await server.postmasterPid().catch(() => undefined);
  console.error(`overload bench: node ${process.version}, ${cpus().length} CPUs, ${server.description}; topologies ${TOPOLOGIES.join(', ')}`);
  const rows: Row[] = [];
  try {
    for (const topology of TOPOLOGIES) {
      if (topology !== 'monolith' && !(await natsReachable(natsUrl))) {
        console.error(`  ${topology}: SKIPPED, NATS is not reachable at ${natsUrl}`);
        continue;
      }
      rows.push(await measure(topology, modules, natsUrl, privateNats, server, postmaster));
    }
  } finally {
    await server.stop();
    await privateNats?.stop();
  }
  report(rows);
  if (rows.some((row) => row.goodputRatio < TARGET_GOODPUT_RATIO || row.timedOut > 0 || row.violations.length > 0)) process.exitCode = 1;
}

async function measure(
  topology: string,
  modules: readonly string[],
  natsUrl: string,
  privateNats: PrivateNatsServer | undefined,
  server: Awaited<ReturnType<typeof startDatabaseServer>>,
  postmaster: number | undefined,
): Promise<Row> {
  const database = await server.freshDatabase(`bench_overload_${topology.replace(/[^a-z0-9]/g, '_')}`);
  const prefix = `ovl${randomBytes(4).toString('hex')}`;
  const output: string[] = [];
  const processes = await TopologyProcesses.start({
    topology,
    modules,
    port: await freePortRange(modules.length + 1),
    ownDatabases: false,
    databaseUrl: database.url,
    env: { LOG_LEVEL: 'error', NATS_URL: natsUrl, NATS_SUBJECT_PREFIX: prefix },
    onLine: (name, line) => {
      output.push(`${name}| ${line}`);
      if (output.length > 40) output.shift();
    },
  });
  cleanup = async () => {
    await processes.stop().catch(() => {});
    await database.drop().catch(() => {});
  };
  try {
    const base = processes.gatewayUrl;
    const running = [...processes.processes.values()];
    const targets: ProcessTarget[] = running.map((p) => ({ name: p.plan.name, pid: () => p.child?.pid }));
    const nats = topology === 'monolith' ? undefined : (privateNats?.pid ?? findProcess('nats-server'));
    if (nats !== undefined) targets.push({ name: NATS_SERVER, pid: () => nats });
    const created = await fetch(`${base}/inventory/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: SKU, name: 'Kettle', priceCents: 2599, stock: 1_000_000 }),
    });
    if (created.status !== 201) throw new Error(`creating the product answered ${created.status}`);

    const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
    console.error(`  [${topology}] capacity: ${CAPACITY_SESSIONS} customers, each waiting for its order, ${CAPACITY_WARM_UP_S} + ${CAPACITY_DURATION_S} s (${uptime})`);
    const before = await measureCapacity(base, database.url, 'capacity-before', new ProcessSampler(targets, postmaster));
    if (!(before.perSecond > 0)) throw new Error(`no capacity measured\n${output.join('\n')}`);
    await waitForQuiet(database.url, 120_000);
    const capacity = before.perSecond;
    const offered = Math.round(capacity * MULTIPLE);

    console.error(`  [${topology}] capacity ${capacity}/s; overload: ${offered}/s offered for ${DURATION_S} s`);
    const body = orderBody(CUSTOMER);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const sampler = new ProcessSampler(targets, postmaster);
      const { rows: [{ t: loadStart }] } = await admin.query<{ t: Date }>('SELECT clock_timestamp() AS t');
      sampler.start();
      const run = await openLoop({
        baseUrl: base,
        rate: offered,
        durationS: DURATION_S,
        body: () => body,
        follow: false,
        pollMs: 0,
        terminalTimeoutMs: 0,
        onTick: (text) => process.stderr.write(`\r  [${topology}] ${text}   `),
      });
      process.stderr.write('\n');
      const quiet = await waitForQuiet(database.url, 120_000);
      const { processes: cpu } = sampler.stop();
      if (!quiet.quiet) throw new Error(`orders still unsettled 120 s after the overload: ${JSON.stringify(quiet.counts)}`);
      const admission = await admissionMetrics(running.map((p) => p.port));
      // Once more after the overload: other workloads on the machine come and go.
      console.error(`  [${topology}] capacity again, after the overload`);
      const after = await measureCapacity(base, database.url, 'capacity-after', new ProcessSampler(targets, postmaster));
      await waitForQuiet(database.url, 120_000);
      const { rows: capacityEnds } = await admin.query<{ ms: number }>(
        `SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM orders.orders WHERE customer_id LIKE 'capacity-%'`,
      );
      const capacityMs = capacityEnds.map((r) => Number(r.ms));

      const { rows: byStatus } = await admin.query<{ status: string; reason: string | null; n: number }>(
        `SELECT status, failure_reason AS reason, count(*)::int AS n FROM orders.orders WHERE customer_id = $1 GROUP BY 1, 2`,
        [CUSTOMER],
      );
      const { rows: ends } = await admin.query<{ ms: number }>(
        `SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM orders.orders WHERE customer_id = $1`,
        [CUSTOMER],
      );
      const { rows: [last] } = await admin.query<{ seconds: number | null }>(
        `SELECT extract(epoch FROM max(updated_at) - $2::timestamptz) AS seconds FROM orders.orders WHERE customer_id = $1 AND status = 'CONFIRMED'`,
        [CUSTOMER, loadStart],
      );
      const confirmed = byStatus.find((r) => r.status === 'CONFIRMED')?.n ?? 0;
      const cancelledRows = byStatus.filter((r) => r.status === 'CANCELLED');
      const timedOut = cancelledRows.find((r) => r.reason === 'TIMED_OUT')?.n ?? 0;
      const seconds = Math.max(DURATION_S, Number(last.seconds ?? Number.NaN));
      const completedPerSecond = confirmed / seconds;
      // Other workloads on the machine come and go: the capacity is the mean of before and after.
      const verdictCapacity = (before.perSecond + after.perSecond) / 2;
      const cpuMsPerCheckout = storeCpuMs(cpu) / confirmed;
      const capacityCpuMsPerCheckout = (before.cpuMsPerCheckout + after.cpuMsPerCheckout) / 2;
      const answers = countAnswers(run.samples);
      const endMs = ends.map((r) => Number(r.ms));
      return {
        topology,
        uptime,
        capacity: verdictCapacity,
        capacityBefore: before.perSecond,
        capacityAfter: after.perSecond,
        capacityCpuMsPerCheckout,
        cpuMsPerCheckout,
        capacityP50Ms: percentile(capacityMs, 50),
        capacityP99Ms: percentile(capacityMs, 99),
        offered,
        sent: run.samples.length,
        accepted: answers.accepted,
        refused: answers.refused,
        otherAnswers: answers.other,
        acceptedPerSecond: answers.accepted / DURATION_S,
        completedPerSecond,
        goodputRatio: completedPerSecond / verdictCapacity,
        timedOut,
        cancelled: cancelledRows.length ? cancelledRows.map((r) => `${r.reason}: ${r.n}`).join(', ') : '0',
        acceptedP50Ms: percentile(endMs, 50),
        acceptedP99Ms: percentile(endMs, 99),
        refusalP50Ms: percentile(run.samples.filter((s) => s.status === 503).map((s) => s.answeredAt - s.dueAt), 50),
        processes: cpu,
        admission,
        violations: await storeInvariantViolations(database.url),
        uptimeAfter: execFileSync('uptime', { encoding: 'utf8' }).trim(),
      };
    } finally {
      await admin.end();
    }
  } catch (error) {
    console.error(output.slice(-10).join('\n'));
    throw error;
  } finally {
    cleanup = undefined;
    await processes.stop();
    if (topology !== 'monolith') await deleteEventStream(natsUrl, prefix).catch(() => {});
    await database.drop();
  }
}

/**
 * CONFIRMED orders per second with CAPACITY_SESSIONS customers each placing an
 * order and waiting until it is terminal (read from the database, one query for
 * all of them every 10 ms) before placing the next; a refused one waits 50 ms.
 * Counted over CAPACITY_DURATION_S after CAPACITY_WARM_UP_S, by the database's clock.
 */
async function measureCapacity(base: string, adminUrl: string, customer: string, sampler: ProcessSampler): Promise<Capacity> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const agent = new Agent({ keepAlive: true, maxSockets: CAPACITY_SESSIONS });
  const waiting = new Map<string, () => void>();
  const body = orderBody(customer);
  let running = true;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      if (waiting.size > 0) {
        const { rows } = await admin.query<{ id: string }>(`SELECT id FROM orders.orders WHERE id = ANY($1::uuid[]) AND status <> 'PENDING'`, [[...waiting.keys()]]);
        for (const { id } of rows) {
          waiting.get(id)?.();
          waiting.delete(id);
        }
      }
      await sleep(10);
    }
  })();
  const session = async () => {
    while (running) {
      const answer = await send(agent, 'POST', `${base}/orders`, body);
      const orderId = answer.body?.orderId;
      if (answer.status === 202 && typeof orderId === 'string') {
        if (running) await new Promise<void>((resolve) => waiting.set(orderId, resolve));
      } else {
        await sleep(50);
      }
    }
  };
  try {
    const sessions = Array.from({ length: CAPACITY_SESSIONS }, () => session());
    await sleep(CAPACITY_WARM_UP_S * 1000);
    const { rows: [{ t: from }] } = await admin.query<{ t: Date }>('SELECT clock_timestamp() AS t');
    sampler.start();
    await sleep(CAPACITY_DURATION_S * 1000);
    const { processes } = sampler.stop();
    const { rows: [{ t: to, n }] } = await admin.query<{ t: Date; n: number }>(
      `SELECT clock_timestamp() AS t, (SELECT count(*)::int FROM orders.orders WHERE customer_id = $2 AND status = 'CONFIRMED' AND updated_at >= $1) AS n`,
      [from, customer],
    );
    running = false;
    for (const resolve of waiting.values()) resolve();
    await Promise.all(sessions);
    polling = false;
    await poller;
    return { perSecond: n / ((to.getTime() - from.getTime()) / 1000), cpuMsPerCheckout: storeCpuMs(processes) / n };
  } finally {
    running = false;
    polling = false;
    agent.destroy();
    await admin.end();
  }
}

interface Capacity {
  readonly perSecond: number;
  /** CPU of the store's processes, NATS and Postgres (not the load generator) per CONFIRMED order. */
  readonly cpuMsPerCheckout: number;
}

/** CPU of everything but the load generator: the store's processes, NATS, Postgres. */
function storeCpuMs(processes: readonly ProcessStats[]): number {
  return processes.filter((p) => p.name !== LOAD_GENERATOR).reduce((sum, p) => sum + p.cpuMs, 0);
}

function orderBody(customerId: string): string {
  return JSON.stringify({
    customerId,
    items: [{ sku: SKU, quantity: 1 }],
    paymentToken: 'tok_visa',
    shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
  });
}

function countAnswers(samples: readonly OpenLoopSample[]): { accepted: number; refused: number; other: string } {
  let accepted = 0;
  let refused = 0;
  const other: Record<string, number> = {};
  for (const sample of samples) {
    if (sample.status === 202) accepted++;
    else if (sample.status === 503) refused++;
    else if (sample.status === 0) other[`no answer (${sample.error ?? '?'})`] = (other[`no answer (${sample.error ?? '?'})`] ?? 0) + 1;
    else other[sample.status] = (other[sample.status] ?? 0) + 1;
  }
  const entries = Object.entries(other);
  return { accepted, refused, other: entries.length ? entries.map(([status, n]) => `${status}: ${n}`).join(', ') : '0' };
}

/** The admission's own account (ADR 16), from every process's /metrics: the lines that mention it. */
async function admissionMetrics(ports: readonly number[]): Promise<string> {
  const lines: string[] = [];
  for (const port of ports) {
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => '');
    for (const line of text.split('\n')) if (/^(saga_admission|saga_in_flight|saga_running|saga_completions|checkout_orders_refused|checkout_queued_wait|http_requests_refused_early)/.test(line)) lines.push(line);
  }
  return lines.join('\n');
}

function report(rows: readonly Row[]): void {
  console.log(`\nSustained overload: ${DURATION_S} s open loop at ${MULTIPLE}x the capacity measured in the same run (${cpus().length} CPUs)\n`);
  for (const row of rows) console.log(`[${row.topology}] uptime before: ${row.uptime}\n[${row.topology}] uptime after:  ${row.uptimeAfter}`);
  console.log('');
  printTable(
    ['measure', ...rows.map((row) => row.topology)],
    [
      [`capacity before the overload: CONFIRMED/s, ${CAPACITY_SESSIONS} customers each waiting for its order (${CAPACITY_DURATION_S} s)`, ...rows.map((r) => r.capacityBefore)],
      ['capacity after the overload (the same)', ...rows.map((r) => r.capacityAfter)],
      ['capacity: placed -> terminal p50 / p99 ms', ...rows.map((r) => `${r.capacityP50Ms.toFixed(0)} / ${r.capacityP99Ms.toFixed(0)}`)],
      ['capacity (the mean of before and after: the verdict is against it)', ...rows.map((r) => r.capacity)],
      [`offered rate: ${MULTIPLE}x the capacity before, POST /orders per s`, ...rows.map((r) => r.offered)],
      ['POSTs sent', ...rows.map((r) => r.sent)],
      ['accepted (202)', ...rows.map((r) => r.accepted)],
      ['refused (503)', ...rows.map((r) => r.refused)],
      ['other answers', ...rows.map((r) => r.otherAnswers)],
      ['accepted/s', ...rows.map((r) => r.acceptedPerSecond)],
      ['completed/s (goodput: CONFIRMED / overload start -> last confirmed)', ...rows.map((r) => r.completedPerSecond)],
      ['goodput / capacity', ...rows.map((r) => `${(100 * r.goodputRatio).toFixed(1)}%`)],
      ['CPU ms per CONFIRMED order (store, NATS, Postgres): capacity runs / overload', ...rows.map((r) => `${r.capacityCpuMsPerCheckout.toFixed(1)} / ${r.cpuMsPerCheckout.toFixed(1)}`)],
      ['goodput per CPU under overload / at capacity (the share of the CPU that did useful work)', ...rows.map((r) => `${((100 * r.capacityCpuMsPerCheckout) / r.cpuMsPerCheckout).toFixed(1)}%`)],
      ['accepted orders TIMED_OUT', ...rows.map((r) => r.timedOut)],
      ['accepted orders CANCELLED (by reason)', ...rows.map((r) => r.cancelled)],
      ['accepted: placed -> terminal p50 / p99 ms', ...rows.map((r) => `${r.acceptedP50Ms.toFixed(0)} / ${r.acceptedP99Ms.toFixed(0)}`)],
      ['refusal: POST due -> 503 p50 ms', ...rows.map((r) => r.refusalP50Ms)],
      ['invariants', ...rows.map((r) => (r.violations.length ? r.violations.join('; ') : 'hold'))],
    ],
  );
  for (const row of rows) {
    console.log(`\n[${row.topology}] CPU during the overload (start -> quiet), % of one core\n`);
    printTable(['process', '% of one core', 'CPU s'], row.processes.map((p) => [p.name, p.cpuPercentOfCore, p.cpuMs / 1000]));
    if (row.admission) console.log(`\n[${row.topology}] admission metrics at the end:\n${row.admission}`);
  }
  console.log('');
  printTable(
    ['target', ...rows.map((r) => r.topology)],
    [
      [`goodput >= ${100 * TARGET_GOODPUT_RATIO}% of capacity`, ...rows.map((r) => (r.goodputRatio >= TARGET_GOODPUT_RATIO ? 'yes' : 'NO'))],
      [`goodput per CPU >= ${100 * TARGET_GOODPUT_RATIO}% of that at capacity`, ...rows.map((r) => (r.capacityCpuMsPerCheckout / r.cpuMsPerCheckout >= TARGET_GOODPUT_RATIO ? 'yes' : 'NO'))],
      ['0 accepted orders TIMED_OUT', ...rows.map((r) => (r.timedOut === 0 ? 'yes' : 'NO'))],
    ],
  );
}

function stringOption(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : (process.argv[index + 1] ?? fallback);
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});
