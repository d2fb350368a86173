import { randomBytes } from 'node:crypto';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { STATEMENT_PROFILE_SETTINGS, StatementProfile } from './support/statement-profile.js';
import { option, printTable } from './support/stats.js';

/**
 * Sustained overload, against the capacity measured in the same run (issue 14):
 * 0. warm-up: --warm-up s at capacity (as in 1), not counted: a cold store is slower.
 * 1. capacity: --capacity-sessions customers, each placing an order and waiting until
 *    it is terminal before placing the next (a closed loop on completion: the store is
 *    kept busy but never flooded, so this is what it can finish), for 3 s of warm-up
 *    and then --capacity-duration s; CONFIRMED orders/s within that window. (A closed
 *    loop on the POST's answer, like autocannon's, measures a flood of refusals instead:
 *    a refusal answers in microseconds, so the connections come back at once.)
 * 2. overload: an open loop (tools/compare/open-loop.ts) POSTing /orders at --multiple
 *    times that capacity for --duration s, whatever the answers (a refusal is not
 *    retried sooner: the offered rate stays what it is), then until no order is PENDING.
 * 3. a closed-loop flood of instant retries (issue 27): --flood-connections keep-alive
 *    connections, each POSTing /orders again as soon as it has an answer, for
 *    --flood-duration s, no back-off, Retry-After ignored; a refused order is retried at
 *    once with the same Idempotency-Key (a new key after a 202), or without keys with
 *    --flood-unkeyed. The refusals then come as fast as the store can answer them: what
 *    a refusal costs is taken from the work the store could do.
 *    Between 2 and 3, and after 3: capacity again, as in 1. Other workloads on a shared
 *    machine come and go, so each phase is judged against the mean of the capacities
 *    measured just before and just after it; all three are printed.
 * Goodput = orders of a phase CONFIRMED / (phase start -> last confirmed); its ratio
 * to the capacity around it is the verdict (>= 90%, for the open loop and for the flood), with the accepted orders that
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
 *        --multiple 4 --warm-up 15 --capacity-duration 20 --capacity-sessions 64
 *        --flood-connections 96 --flood-duration 60 --flood-unkeyed --statements --skus 1 --rounds 1]
 * --statements: what the store asks of PostgreSQL per confirmed order in each phase
 * (pg_stat_statements on the embedded server, which it then preloads; not with DATABASE_URL).
 */

const TOPOLOGIES = stringOption('topologies', 'monolith,microservices').split(',');
const DURATION_S = option('duration', 60);
const MULTIPLE = option('multiple', 4);
const CAPACITY_DURATION_S = option('capacity-duration', 20);
const CAPACITY_SESSIONS = option('capacity-sessions', 64);
const CAPACITY_WARM_UP_S = 3;
/**
 * A fresh topology's first seconds are slower (JIT, pools and consumers filling, the database's caches): a
 * first capacity measured cold was 87/s where the next two were 199 and 201 (microservices), which made
 * the open loop's verdict, judged against it, easier than it should be. Run at capacity this long first.
 */
const WARM_UP_S = option('warm-up', 15);
const FLOOD_CONNECTIONS = option('flood-connections', 96);
const FLOOD_DURATION_S = option('flood-duration', DURATION_S);
const FLOOD_KEYED = !process.argv.includes('--flood-unkeyed');
const STATEMENTS = process.argv.includes('--statements');
const TARGET_GOODPUT_RATIO = 0.9;
/**
 * How many products the orders spread over (--skus, default 1). One product is the hardest case for
 * the database: every reservation queues on that one row's lock, and more of them do under overload
 * (a convoy), which the figures then mix with what refusals cost. More spread the orders round-robin.
 */
const SKUS = Math.floor(option('skus', 1));
const skuOf = (n: number): string => (SKUS === 1 ? 'BENCH-OVERLOAD' : `BENCH-OVERLOAD-${n % SKUS}`);
const OPEN_CUSTOMER = 'overload';
const FLOOD_CUSTOMER = 'flood';
/**
 * Rounds of (open loop, capacity, flood, capacity) after the first capacity (--rounds, default 1). The
 * machine's speed moves by a fifth within minutes (capacity 303 -> 271 -> 211/s in one run): each phase is
 * judged against the capacities around it, and over several rounds the verdict is the overload's goodput
 * over all of them against the capacity around each, so that one slow window does not decide it.
 */
const ROUNDS = Math.max(1, Math.floor(option('rounds', 1)));

/** One overload phase (the open loop, or the flood), against the run's capacity. */
interface Phase {
  readonly name: string;
  /** The capacity it is judged against: the mean of the measurements just before and just after it. */
  readonly capacity: number;
  readonly sent: number;
  readonly accepted: number;
  readonly refused: number;
  readonly otherAnswers: string;
  readonly acceptedPerSecond: number;
  readonly completedPerSecond: number;
  readonly goodputRatio: number;
  readonly cpuMsPerCheckout: number;
  readonly timedOut: number;
  readonly cancelled: string;
  readonly acceptedP50Ms: number;
  readonly acceptedP99Ms: number;
  readonly refusalP50Ms: number;
  readonly processes: readonly ProcessStats[];
}

interface Row {
  readonly topology: string;
  readonly uptime: string;
  /** Every capacity measured, in order: before the first phase, then after each. */
  readonly capacities: readonly number[];
  readonly capacityCpuMsPerCheckout: number;
  readonly capacityP50Ms: number;
  readonly capacityP99Ms: number;
  readonly offered: number;
  /** Over all rounds (one round: that round's phase). */
  readonly open: Phase;
  readonly flood: Phase;
  readonly opens: readonly Phase[];
  readonly floods: readonly Phase[];
  readonly admission: string;
  readonly violations: readonly string[];
  readonly uptimeAfter: string;
}

/** What a phase's load answered: counts by kind, and a refusal's latency (sampled). */
interface Answers {
  readonly sent: number;
  readonly accepted: number;
  readonly refused: number;
  readonly other: string;
  readonly refusalMs: readonly number[];
}

/**
 * The load (HTTP clients, the capacity run's poller) runs in a child process of its own, started at the lowest
 * CPU priority (`nice -n 19`): a client elsewhere takes none of the store's CPU, and on a machine the two share
 * the store then gets the cores first and the load generator what it leaves. At normal priority it took 13-21% of
 * a core from a saturated 2-core machine under overload against 5-8% at capacity, and the store's goodput paid for
 * it, not for refusals (per CPU, goodput held at 92-105%). This process starts the topologies, samples CPU and reads
 * the database; `--generate JOB` is the child.
 */
const GENERATE = process.argv.indexOf('--generate');
const LOAD_CHILD = 'load generator (child, nice 19)';

type GeneratorJob =
  | { readonly kind: 'capacity'; readonly base: string; readonly adminUrl: string; readonly customer: string }
  | { readonly kind: 'open'; readonly base: string; readonly rate: number; readonly topology: string; readonly customer: string; readonly out: string }
  | { readonly kind: 'flood'; readonly base: string; readonly customer: string; readonly out: string };

/** What a signal must stop before the bench exits: the topology of the moment and its database. */
let cleanup: (() => Promise<void>) | undefined;
let stopNats: (() => Promise<void>) | undefined;
for (const signal of GENERATE < 0 ? (['SIGINT', 'SIGTERM'] as const) : []) {
  process.once(signal, () => {
    (cleanup ?? (async () => {}))()
      .then(() => stopNats?.())
      .catch((error: unknown) => console.error(`overload: cleaning up: ${(error as Error)?.message ?? String(error)}`))
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
  const server = await startDatabaseServer({ settings: STATEMENTS ? STATEMENT_PROFILE_SETTINGS : undefined });
  const postmaster = await server.postmasterPid().catch(() => undefined);
  console.error(`overload bench: node ${process.version}, ${cpus().length} CPUs, ${server.description}; topologies ${TOPOLOGIES.join(', ')}`);
  const rows: Row[] = [];
  const failed: string[] = [];
  try {
    for (const topology of TOPOLOGIES) {
      if (topology !== 'monolith' && !(await natsReachable(natsUrl))) {
        console.error(`  ${topology}: SKIPPED, NATS is not reachable at ${natsUrl}`);
        continue;
      }
      try {
        rows.push(await measure(topology, modules, natsUrl, privateNats, server, postmaster));
      } catch (error) {
        // The other topologies' figures are still worth printing (a loaded machine may be slow to start one).
        console.error(`  ${topology}: FAILED: ${(error as Error)?.message ?? error}`);
        failed.push(topology);
      }
    }
  } finally {
    await server.stop();
    await privateNats?.stop();
  }
  report(rows);
  if (failed.length > 0) console.log(`\nnot measured (failed, see above): ${failed.join(', ')}`);
  if (
    failed.length > 0 ||
    rows.some((row) => [row.open, row.flood].some((p) => p.goodputRatio < TARGET_GOODPUT_RATIO || p.timedOut > 0) || row.violations.length > 0)
  )
    process.exitCode = 1;
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
  const statements = STATEMENTS ? await StatementProfile.open(database.url) : undefined;
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
    targets.push({ name: LOAD_CHILD, pid: () => loadChild?.pid });
    for (let n = 0; n < SKUS; n++) {
      const created = await fetch(`${base}/inventory/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sku: skuOf(n), name: 'Kettle', priceCents: 2599, stock: 1_000_000 }),
      });
      if (created.status !== 201) throw new Error(`creating product ${skuOf(n)} answered ${created.status}`);
    }

    const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
    progress(
      `[${topology}] capacity: ${CAPACITY_SESSIONS} customers, each waiting for its order, ${CAPACITY_WARM_UP_S} + ${CAPACITY_DURATION_S} s (${uptime})`,
    );
    const warm = await measureCapacity(base, database.url, 'warm-up', new ProcessSampler(targets, postmaster), WARM_UP_S);
    await waitForQuiet(database.url, 120_000);
    progress(`[${topology}] warmed up at ${warm.perSecond.toFixed(1)}/s (not counted); capacity before the overload`);
    const before = await measureCapacity(base, database.url, 'capacity-before', new ProcessSampler(targets, postmaster), CAPACITY_DURATION_S, statements);
    if (!(before.perSecond > 0)) throw new Error(`no capacity measured\n${output.join('\n')}`);
    await waitForQuiet(database.url, 120_000);
    const capacity = before.perSecond;
    const offered = Math.round(capacity * MULTIPLE);

    progress(`[${topology}] capacity ${capacity}/s; overload: ${offered}/s offered for ${DURATION_S} s`);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      // Other workloads on the machine come and go: a phase is judged against the capacities measured around it.
      const against = (phase: Omit<Phase, 'goodputRatio' | 'capacity'>, around: readonly Capacity[]): Phase => {
        const capacity = (around[0].perSecond + around[1].perSecond) / 2;
        return { ...phase, capacity, goodputRatio: phase.completedPerSecond / capacity };
      };
      const capacities: Capacity[] = [before];
      const opens: Phase[] = [];
      const floods: Phase[] = [];
      let admission = '';
      for (let round = 1; round <= ROUNDS; round++) {
        const of = ROUNDS === 1 ? '' : ` (round ${round} of ${ROUNDS})`;
        const tag = ROUNDS === 1 ? '' : `-${round}`;
        if (round > 1) progress(`[${topology}] open loop${of}: ${offered}/s offered for ${DURATION_S} s`);
        const open = await overloadPhase(
          topology,
          `open loop${tag}`,
          `${OPEN_CUSTOMER}${tag}`,
          admin,
          database.url,
          new ProcessSampler(targets, postmaster),
          () => LoadChild.start({ kind: 'open', base, rate: offered, topology, customer: `${OPEN_CUSTOMER}${tag}`, out: answersFile() }).answers(),
          DURATION_S,
          statements,
        );
        progress(`[${topology}] capacity again, between the open loop and the flood${of}`);
        const between = await measureCapacity(
          base,
          database.url,
          `capacity-between${tag}`,
          new ProcessSampler(targets, postmaster),
          CAPACITY_DURATION_S,
          statements,
        );
        progress(`[${topology}] open loop${of}: ${open.completedPerSecond.toFixed(1)}/s confirmed; capacity between: ${between.perSecond.toFixed(1)}/s`);
        await waitForQuiet(database.url, 120_000);
        progress(
          `[${topology}] flood${of}: ${FLOOD_CONNECTIONS} connections retrying at once${FLOOD_KEYED ? ' (same Idempotency-Key until accepted)' : ''} for ${FLOOD_DURATION_S} s`,
        );
        const flood = await overloadPhase(
          topology,
          `flood${tag}`,
          `${FLOOD_CUSTOMER}${tag}`,
          admin,
          database.url,
          new ProcessSampler(targets, postmaster),
          () => LoadChild.start({ kind: 'flood', base, customer: `${FLOOD_CUSTOMER}${tag}`, out: answersFile() }).answers(),
          FLOOD_DURATION_S,
          statements,
        );
        if (round === ROUNDS) admission = await admissionMetrics(running.map((p) => p.port));
        // Once more after the overload: other workloads on the machine come and go.
        progress(`[${topology}] capacity again, after the flood${of}`);
        const after = await measureCapacity(
          base,
          database.url,
          `capacity-after${tag}`,
          new ProcessSampler(targets, postmaster),
          CAPACITY_DURATION_S,
          statements,
        );
        progress(`[${topology}] flood${of}: ${flood.completedPerSecond.toFixed(1)}/s confirmed; capacity after: ${after.perSecond.toFixed(1)}/s`);
        await waitForQuiet(database.url, 120_000);
        opens.push(against(open, [capacities.at(-1)!, between]));
        floods.push(against(flood, [between, after]));
        capacities.push(between, after);
      }
      const { rows: capacityEnds } = await admin.query<{ ms: number }>(
        `SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM orders.orders WHERE customer_id LIKE 'capacity-%'`,
      );
      const capacityMs = capacityEnds.map((r) => Number(r.ms));
      statements?.print(`[${topology}]`, 'confirmed order');
      return {
        topology,
        uptime,
        capacities: capacities.map((c) => c.perSecond),
        capacityCpuMsPerCheckout: capacities.reduce((sum, c) => sum + c.cpuMsPerCheckout, 0) / capacities.length,
        capacityP50Ms: percentile(capacityMs, 50),
        capacityP99Ms: percentile(capacityMs, 99),
        offered,
        open: pooled('open loop', opens),
        flood: pooled('flood', floods),
        opens,
        floods,
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
    await statements?.close();
    await processes.stop();
    if (topology !== 'monolith') await deleteEventStream(natsUrl, prefix).catch(() => {});
    await database.drop();
  }
}

/**
 * A phase's rounds as one: goodput and capacity are the means over the rounds (the
 * rounds last as long), so the verdict is the goodput of the whole overload time against
 * the capacity measured around each part of it; counts are summed, latencies are the
 * rounds' median p50 and worst p99, CPU is summed per process.
 */
function pooled(name: string, rounds: readonly Phase[]): Phase {
  if (rounds.length === 1) return rounds[0];
  const mean = (pick: (phase: Phase) => number) => rounds.reduce((sum, phase) => sum + pick(phase), 0) / rounds.length;
  const sum = (pick: (phase: Phase) => number) => rounds.reduce((total, phase) => total + pick(phase), 0);
  const median = (values: number[]) => percentile(values, 50);
  const capacity = mean((phase) => phase.capacity);
  const completedPerSecond = mean((phase) => phase.completedPerSecond);
  const byName = new Map<string, ProcessStats[]>();
  for (const p of rounds.flatMap((phase) => phase.processes)) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  const processes = [...byName.values()].map((each) => ({
    ...each[0],
    cpuMs: each.reduce((total, p) => total + p.cpuMs, 0),
    cpuPercentOfCore: each.reduce((total, p) => total + p.cpuPercentOfCore, 0) / each.length,
  }));
  return {
    name: `${name} (${rounds.length} rounds)`,
    capacity,
    sent: sum((phase) => phase.sent),
    accepted: sum((phase) => phase.accepted),
    refused: sum((phase) => phase.refused),
    otherAnswers: rounds.map((phase) => phase.otherAnswers).join(' | '),
    acceptedPerSecond: mean((phase) => phase.acceptedPerSecond),
    completedPerSecond,
    goodputRatio: completedPerSecond / capacity,
    cpuMsPerCheckout: mean((phase) => phase.cpuMsPerCheckout),
    timedOut: sum((phase) => phase.timedOut),
    cancelled: rounds.map((phase) => phase.cancelled).join(' | '),
    acceptedP50Ms: median(rounds.map((phase) => phase.acceptedP50Ms)),
    acceptedP99Ms: Math.max(...rounds.map((phase) => phase.acceptedP99Ms)),
    refusalP50Ms: median(rounds.map((phase) => phase.refusalP50Ms)),
    processes,
  };
}

/**
 * One overload phase: `load` runs from a start read on the database's clock, then
 * the store is waited for until no order is PENDING; its orders (`customer`) are counted.
 * Goodput = CONFIRMED / (start -> last confirmed), at least the load's duration.
 */
async function overloadPhase(
  topology: string,
  name: string,
  customer: string,
  admin: pg.Client,
  databaseUrl: string,
  sampler: ProcessSampler,
  load: () => Promise<Answers>,
  durationS: number,
  statements?: StatementProfile,
): Promise<Omit<Phase, 'goodputRatio' | 'capacity'>> {
  await statements?.reset();
  const {
    rows: [{ t: loadStart }],
  } = await admin.query<{ t: Date }>('SELECT clock_timestamp() AS t');
  sampler.start();
  const answers = await load();
  const quiet = await waitForQuiet(databaseUrl, 120_000);
  const { processes: cpu } = sampler.stop();
  if (!quiet.quiet) throw new Error(`[${topology}] ${name}: orders still unsettled 120 s after the overload: ${JSON.stringify(quiet.counts)}`);
  const { rows: byStatus } = await admin.query<{ status: string; reason: string | null; n: number }>(
    `SELECT status, failure_reason AS reason, count(*)::int AS n FROM orders.orders WHERE customer_id = $1 GROUP BY 1, 2`,
    [customer],
  );
  const { rows: ends } = await admin.query<{ ms: number }>(
    `SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM orders.orders WHERE customer_id = $1`,
    [customer],
  );
  const {
    rows: [last],
  } = await admin.query<{ seconds: number | null }>(
    `SELECT extract(epoch FROM max(updated_at) - $2::timestamptz) AS seconds FROM orders.orders WHERE customer_id = $1 AND status = 'CONFIRMED'`,
    [customer, loadStart],
  );
  const confirmed = byStatus.find((r) => r.status === 'CONFIRMED')?.n ?? 0;
  await statements?.record(name, confirmed);
  const cancelledRows = byStatus.filter((r) => r.status === 'CANCELLED');
  const endMs = ends.map((r) => Number(r.ms));
  return {
    name,
    sent: answers.sent,
    accepted: answers.accepted,
    refused: answers.refused,
    otherAnswers: answers.other,
    acceptedPerSecond: answers.accepted / durationS,
    completedPerSecond: confirmed / Math.max(durationS, Number(last.seconds ?? Number.NaN)),
    cpuMsPerCheckout: storeCpuMs(cpu) / confirmed,
    timedOut: cancelledRows.find((r) => r.reason === 'TIMED_OUT')?.n ?? 0,
    cancelled: cancelledRows.length ? cancelledRows.map((r) => `${r.reason}: ${r.n}`).join(', ') : '0',
    acceptedP50Ms: percentile(endMs, 50),
    acceptedP99Ms: percentile(endMs, 99),
    refusalP50Ms: percentile(answers.refusalMs, 50),
    processes: cpu,
  };
}

/**
 * FLOOD_CONNECTIONS clients, each POSTing again the moment it has an answer (no
 * back-off, Retry-After ignored) for FLOOD_DURATION_S: a refused order is retried
 * with its Idempotency-Key, a new order after a 202 gets a new one. Lean on purpose
 * (one keep-alive socket each, the answer's body read and dropped): the load
 * generator shares the machine with the store.
 */
async function closedLoopFlood(base: string, customer: string): Promise<Answers> {
  const agent = new Agent({ keepAlive: true, maxSockets: FLOOD_CONNECTIONS });
  const url = new URL(`${base}/orders`);
  const bodies = Array.from({ length: FLOOD_CONNECTIONS }, (_, n) => Buffer.from(orderBody(customer, n)));
  const end = performance.now() + FLOOD_DURATION_S * 1000;
  const runId = randomBytes(4).toString('hex');
  let sent = 0;
  let accepted = 0;
  let refused = 0;
  let nextKey = 0;
  const other: Record<string, number> = {};
  const refusalMs: number[] = [];
  const post = (key: string | undefined, body: Buffer) =>
    new Promise<number>((resolve) => {
      const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': body.length };
      if (key !== undefined) headers['idempotency-key'] = key;
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers, timeout: 30_000 }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(0));
      req.end(body);
    });
  const connection = async (body: Buffer) => {
    let key = FLOOD_KEYED ? `${runId}-${nextKey++}` : undefined;
    while (performance.now() < end) {
      const at = performance.now();
      const status = await post(key, body);
      sent++;
      if (status === 202 || status === 200) {
        accepted += status === 202 ? 1 : 0;
        if (status === 200) other['200 (a replay)'] = (other['200 (a replay)'] ?? 0) + 1;
        key = FLOOD_KEYED ? `${runId}-${nextKey++}` : undefined;
      } else if (status === 503) {
        refused++;
        if (refused % 50 === 0) refusalMs.push(performance.now() - at);
      } else {
        const label = status === 0 ? 'no answer' : String(status);
        other[label] = (other[label] ?? 0) + 1;
      }
    }
  };
  const ticker = setInterval(() => process.stderr.write(`\r  flood: ${sent} sent, ${accepted} accepted, ${refused} refused   `), 1_000);
  try {
    await Promise.all(bodies.map((body) => connection(body)));
  } finally {
    clearInterval(ticker);
    process.stderr.write('\n');
    agent.destroy();
  }
  const entries = Object.entries(other);
  return { sent, accepted, refused, other: entries.length ? entries.map(([k, n]) => `${k}: ${n}`).join(', ') : '0', refusalMs };
}

/**
 * CONFIRMED orders per second with CAPACITY_SESSIONS customers each placing an
 * order and waiting until it is terminal (read from the database, one query for
 * all of them every 10 ms) before placing the next; a refused one waits 50 ms.
 * Counted over CAPACITY_DURATION_S after CAPACITY_WARM_UP_S, by the database's clock.
 */
async function measureCapacity(
  base: string,
  adminUrl: string,
  customer: string,
  sampler: ProcessSampler,
  durationS = CAPACITY_DURATION_S,
  statements?: StatementProfile,
): Promise<Capacity> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const load = LoadChild.start({ kind: 'capacity', base, adminUrl, customer });
  try {
    await Promise.race([sleep(CAPACITY_WARM_UP_S * 1000), load.exited.then(() => Promise.reject(new Error('the load generator stopped early')))]);
    const {
      rows: [{ t: from }],
    } = await admin.query<{ t: Date }>('SELECT clock_timestamp() AS t');
    await statements?.reset();
    sampler.start();
    await sleep(durationS * 1000);
    const { processes } = sampler.stop();
    const {
      rows: [{ t: to, n }],
    } = await admin.query<{ t: Date; n: number }>(
      `SELECT clock_timestamp() AS t, (SELECT count(*)::int FROM orders.orders WHERE customer_id = $2 AND status = 'CONFIRMED' AND updated_at >= $1) AS n`,
      [from, customer],
    );
    await statements?.record(customer, n);
    return { perSecond: n / ((to.getTime() - from.getTime()) / 1000), cpuMsPerCheckout: storeCpuMs(processes) / n };
  } finally {
    await load.stop();
    await admin.end();
  }
}

/** The running load generator, if any (its CPU is sampled as LOAD_CHILD). */
let loadChild: ChildProcess | undefined;

/**
 * Where a load child writes its answers (JSON): a file, not its stdout, which a process that exits at once
 * leaves cut short past a pipe's 64 KiB (an open loop's refusal latencies are a few hundred KiB).
 */
function answersFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'bench-overload-')), 'answers.json');
}

/** The child that makes the load (`--generate`), at nice 19; its answers come in the job's `out` file. */
class LoadChild {
  readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly job: GeneratorJob,
  ) {
    this.exited = new Promise((resolve, reject) => {
      child.once('error', (error) => reject(new Error(`starting the load generator (nice): ${error.message}`)));
      child.once('exit', (code) => resolve(code));
    });
    this.exited
      .catch(() => {})
      .finally(() => {
        if (loadChild === child) loadChild = undefined;
      });
  }

  static start(job: GeneratorJob): LoadChild {
    const args = [...process.execArgv, fileURLToPath(import.meta.url), '--generate', JSON.stringify(job), ...process.argv.slice(2)];
    const child = spawn('nice', ['-n', '19', process.execPath, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    loadChild = child;
    return new LoadChild(child, job);
  }

  /** The load's answers, once it has run its course. */
  async answers(): Promise<Answers> {
    const code = await this.exited;
    if (code !== 0) throw new Error(`the load generator exited with ${code}`);
    if (!('out' in this.job)) throw new Error('this load answers nothing');
    try {
      return JSON.parse(readFileSync(this.job.out, 'utf8')) as Answers;
    } finally {
      rmSync(dirname(this.job.out), { recursive: true, force: true });
    }
  }

  /** Ends a load that runs until told (the capacity's sessions): SIGTERM, and its exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited.catch(() => {});
  }
}

/** The child's side: runs `job`, writes its answers to the job's `out` file (the open loop, the flood), exits. */
async function generate(job: GeneratorJob): Promise<void> {
  if (job.kind === 'open') {
    const bodies = Array.from({ length: SKUS }, (_, n) => orderBody(job.customer, n));
    const run = await openLoop({
      baseUrl: job.base,
      rate: job.rate,
      durationS: DURATION_S,
      body: (i) => bodies[i % SKUS],
      follow: false,
      pollMs: 0,
      terminalTimeoutMs: 0,
      onTick: (text) => process.stderr.write(`\r  [${job.topology}] ${text}   `),
    });
    process.stderr.write('\n');
    writeFileSync(job.out, JSON.stringify(countAnswers(run.samples)));
  } else if (job.kind === 'flood') {
    writeFileSync(job.out, JSON.stringify(await closedLoopFlood(job.base, job.customer)));
  } else {
    await capacitySessions(job.base, job.adminUrl, job.customer);
  }
}

/**
 * CAPACITY_SESSIONS customers each placing an order and waiting until it is terminal (read from the
 * database, one query for all of them every 10 ms) before placing the next; a refused one waits 50 ms.
 * Until SIGTERM.
 */
async function capacitySessions(base: string, adminUrl: string, customer: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const agent = new Agent({ keepAlive: true, maxSockets: CAPACITY_SESSIONS });
  const waiting = new Map<string, () => void>();
  let running = true;
  process.once('SIGTERM', () => {
    running = false;
    for (const resolve of waiting.values()) resolve();
  });
  const poller = (async () => {
    while (running) {
      if (waiting.size > 0) {
        const { rows } = await admin.query<{ id: string }>(`SELECT id FROM orders.orders WHERE id = ANY($1::uuid[]) AND status <> 'PENDING'`, [
          [...waiting.keys()],
        ]);
        for (const { id } of rows) {
          waiting.get(id)?.();
          waiting.delete(id);
        }
      }
      await sleep(10);
    }
  })();
  const session = async (body: string) => {
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
    await Promise.all(Array.from({ length: CAPACITY_SESSIONS }, (_, n) => session(orderBody(customer, n))));
    await poller;
  } finally {
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
  return processes.filter((p) => p.name !== LOAD_GENERATOR && p.name !== LOAD_CHILD).reduce((sum, p) => sum + p.cpuMs, 0);
}

/** The `n`th client's order (its product: `skuOf(n)`). */
function orderBody(customerId: string, n = 0): string {
  return JSON.stringify({
    customerId,
    items: [{ sku: skuOf(n), quantity: 1 }],
    paymentToken: 'tok_visa',
    shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
  });
}

function countAnswers(samples: readonly OpenLoopSample[]): Answers {
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
  return {
    sent: samples.length,
    accepted,
    refused,
    other: entries.length ? entries.map(([status, n]) => `${status}: ${n}`).join(', ') : '0',
    refusalMs: samples.filter((s) => s.status === 503).map((s) => s.answeredAt - s.dueAt),
  };
}

/** The admission's own account (ADR 16), from every process's /metrics: the lines that mention it. */
async function admissionMetrics(ports: readonly number[]): Promise<string> {
  const lines: string[] = [];
  for (const port of ports) {
    const text = await fetch(`http://127.0.0.1:${port}/metrics`)
      .then((r) => r.text())
      .catch(() => '');
    for (const line of text.split('\n'))
      if (/^(saga_admission|saga_in_flight|saga_running|saga_completions|checkout_orders_refused|checkout_queued_wait|http_requests_refused_early)/.test(line))
        lines.push(line);
  }
  return lines.join('\n');
}

function report(rows: readonly Row[]): void {
  console.log(
    `\nSustained overload against the capacity measured in the same run (${cpus().length} CPUs): ${DURATION_S} s open loop at ${MULTIPLE}x it, ` +
      `then ${FLOOD_DURATION_S} s of ${FLOOD_CONNECTIONS} connections retrying at once${FLOOD_KEYED ? ' (keyed)' : ''}; ` +
      `orders over ${SKUS === 1 ? 'one product' : `${SKUS} products`}\n`,
  );
  for (const row of rows) console.log(`[${row.topology}] uptime before: ${row.uptime}\n[${row.topology}] uptime after:  ${row.uptimeAfter}`);
  console.log('');
  const phases = (pick: (row: Row) => Phase, label: string): Array<Array<string | number>> => [
    [`${label}: capacity around it (mean of the one before and the one after: the verdict is against it)`, ...rows.map((r) => pick(r).capacity)],
    [`${label}: POSTs sent`, ...rows.map((r) => pick(r).sent)],
    [`${label}: accepted (202)`, ...rows.map((r) => pick(r).accepted)],
    [`${label}: refused (503)`, ...rows.map((r) => pick(r).refused)],
    [`${label}: other answers`, ...rows.map((r) => pick(r).otherAnswers)],
    [`${label}: accepted/s`, ...rows.map((r) => pick(r).acceptedPerSecond)],
    [`${label}: completed/s (goodput: CONFIRMED / start -> last confirmed)`, ...rows.map((r) => pick(r).completedPerSecond)],
    [`${label}: goodput / capacity`, ...rows.map((r) => `${(100 * pick(r).goodputRatio).toFixed(1)}%`)],
    [
      `${label}: CPU ms per CONFIRMED order (store, NATS, Postgres): capacity runs / overload`,
      ...rows.map((r) => `${r.capacityCpuMsPerCheckout.toFixed(1)} / ${pick(r).cpuMsPerCheckout.toFixed(1)}`),
    ],
    [
      `${label}: goodput per CPU / at capacity (the share of the CPU that did useful work)`,
      ...rows.map((r) => `${((100 * r.capacityCpuMsPerCheckout) / pick(r).cpuMsPerCheckout).toFixed(1)}%`),
    ],
    [`${label}: accepted orders TIMED_OUT`, ...rows.map((r) => pick(r).timedOut)],
    [`${label}: accepted orders CANCELLED (by reason)`, ...rows.map((r) => pick(r).cancelled)],
    [`${label}: accepted, placed -> terminal p50 / p99 ms`, ...rows.map((r) => `${pick(r).acceptedP50Ms.toFixed(0)} / ${pick(r).acceptedP99Ms.toFixed(0)}`)],
    [`${label}: refusal p50 ms (open loop: due -> 503; flood: sent -> 503)`, ...rows.map((r) => pick(r).refusalP50Ms)],
  ];
  printTable(
    ['measure', ...rows.map((row) => row.topology)],
    [
      [
        `capacity before the overload: CONFIRMED/s, ${CAPACITY_SESSIONS} customers each waiting for its order (${CAPACITY_DURATION_S} s)`,
        ...rows.map((r) => r.capacities[0]),
      ],
      ...Array.from({ length: ROUNDS }, (_, n) => {
        const of = ROUNDS === 1 ? '' : ` (round ${n + 1})`;
        return [
          [`capacity between the open loop and the flood${of} (the same)`, ...rows.map((r) => r.capacities[2 * n + 1])],
          [`capacity after the flood${of} (the same)`, ...rows.map((r) => r.capacities[2 * n + 2])],
        ];
      }).flat(),
      ['capacity: placed -> terminal p50 / p99 ms', ...rows.map((r) => `${r.capacityP50Ms.toFixed(0)} / ${r.capacityP99Ms.toFixed(0)}`)],
      [`open loop: offered rate, ${MULTIPLE}x the capacity before, POST /orders per s`, ...rows.map((r) => r.offered)],
      ...phases((r) => r.open, ROUNDS === 1 ? 'open loop' : `open loop, ${ROUNDS} rounds`),
      ...phases((r) => r.flood, ROUNDS === 1 ? `flood (${FLOOD_CONNECTIONS} conn.)` : `flood (${FLOOD_CONNECTIONS} conn.), ${ROUNDS} rounds`),
      ...(ROUNDS === 1
        ? []
        : Array.from({ length: ROUNDS }, (_, n) => [
            [
              `round ${n + 1}: open loop / flood goodput, CONFIRMED/s (/ the capacity around it)`,
              ...rows.map(
                (r) =>
                  `${r.opens[n].completedPerSecond.toFixed(1)} (${(100 * r.opens[n].goodputRatio).toFixed(1)}%) / ${r.floods[n].completedPerSecond.toFixed(1)} (${(100 * r.floods[n].goodputRatio).toFixed(1)}%)`,
              ),
            ],
          ]).flat()),
      ['invariants', ...rows.map((r) => (r.violations.length ? r.violations.join('; ') : 'hold'))],
    ],
  );
  for (const row of rows) {
    for (const phase of [row.open, row.flood]) {
      console.log(`\n[${row.topology}] CPU during the ${phase.name} (start -> quiet), % of one core\n`);
      printTable(
        ['process', '% of one core', 'CPU s'],
        phase.processes.map((p) => [p.name, p.cpuPercentOfCore, p.cpuMs / 1000]),
      );
    }
    if (row.admission) console.log(`\n[${row.topology}] admission metrics at the end:\n${row.admission}`);
  }
  console.log('');
  printTable(
    ['target', ...rows.map((r) => r.topology)],
    [
      ...(
        [
          ['open loop', (r: Row) => r.open],
          ['flood', (r: Row) => r.flood],
        ] as const
      ).flatMap(([label, pick]) => {
        return [
          [
            `${label}: goodput >= ${100 * TARGET_GOODPUT_RATIO}% of capacity`,
            ...rows.map((r) => (pick(r).goodputRatio >= TARGET_GOODPUT_RATIO ? 'yes' : 'NO')),
          ],
          [
            `${label}: goodput per CPU >= ${100 * TARGET_GOODPUT_RATIO}% of that at capacity`,
            ...rows.map((r) => (r.capacityCpuMsPerCheckout / pick(r).cpuMsPerCheckout >= TARGET_GOODPUT_RATIO ? 'yes' : 'NO')),
          ],
          [`${label}: 0 accepted orders TIMED_OUT`, ...rows.map((r) => (pick(r).timedOut === 0 ? 'yes' : 'NO'))],
        ];
      }),
    ],
  );
}

/** A line of progress on stderr, with the time of day (to set beside the database's log: checkpoints, autovacuum). */
function progress(line: string): void {
  console.error(`  ${new Date().toISOString().slice(11, 19)} ${line}`);
}

function stringOption(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : (process.argv[index + 1] ?? fallback);
}

if (GENERATE >= 0) {
  generate(JSON.parse(process.argv[GENERATE + 1]) as GeneratorJob).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`bench load generator: ${(error as Error)?.message ?? error}`);
      process.exit(1);
    },
  );
} else {
  main().catch((error: unknown) => {
    console.error(`bench: ${(error as Error)?.message ?? error}`);
    process.exit(1);
  });
}
