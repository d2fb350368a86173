import { randomBytes } from 'node:crypto';
import { deleteEventStream } from '../support/event-streams.js';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { planTopology, type ProcessPlan } from '../topology/topologies.js';
import { TopologyProcesses } from '../topology/topology-processes.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { PrivateNatsServer } from '../support/nats-server.js';
import { RoundRobinFront } from '../support/round-robin-front.js';
import { storeInvariantViolations, waitForQuiet } from '../support/store-invariants.js';
import { findProcess, machineBusy } from '../support/proc.js';
import { freePortRange, natsReachable } from '../support/network.js';
import { startDatabaseServer } from './database-server.js';
import { diffRuns, type EquivalenceRun } from './diff.js';
import { type Fault, runFault } from './faults.js';
import { readFinalState } from './final-state.js';
import { runLoad } from './load.js';
import { delta, remoteCallsByModule, scrape } from './metrics-scrape.js';
import { Normaliser, normaliseTranscript, renumber } from './normalise.js';
import { BASELINE, type CompareOptions, ON_HOSTS } from './options.js';
import { MultiHost, multiHostUnavailable } from '../hosts/multi-host.js';
import { NATS_SERVER, type ProcessTarget } from './process-stats.js';
import type { Progress } from './progress.js';
import { runRatePoint, type RatePoint } from './rate-load.js';
import { ratiosOf } from './ratios.js';
import type { CompareResults, EquivalenceResult, TopologyResult } from './results.js';
import { COMPARE_CARRIER_SECRET, COMPARE_DELIVERY_ENV, runScenario, unmetExpectations } from './scenario.js';
import { slowModules } from './slow-modules.js';

export interface CompareRun {
  readonly results: CompareResults;
  /** The normalised transcript and final state of each topology that ran the scenario. */
  readonly runs: ReadonlyMap<string, EquivalenceRun>;
}

/** Lets Ctrl-C stop whatever is running (processes, embedded Postgres, NATS) before exiting. */
export const cleanups = new Set<() => Promise<void>>();

const BASELINE_MAIN = fileURLToPath(new URL('./baseline/baseline.main.js', import.meta.url));
/** When the fixed rate cannot be derived (no saturation run): a rate every topology sustains on a small machine. */
const FALLBACK_RATE = 20;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Slot {
  readonly name: string;
  readonly index: number;
  readonly plan: readonly ProcessPlan[];
  readonly extraEnv: Record<string, string>;
  readonly result: Mutable<TopologyResult>;
  database?: Awaited<ReturnType<Awaited<ReturnType<typeof startDatabaseServer>>['freshDatabase']>>;
  remote: Map<string, { calls: number; totalMs: number }>;
  /** Between the two passes the topology's processes are parked (SIGSTOP), not stopped: no second start-up. */
  parked?: { session: Session; output: string[] };
}

interface Session {
  readonly topology: TopologyProcesses;
  /** The store's public URL: the gateway, or the round-robin front of the replicas. */
  readonly url: string;
  readonly targets: ProcessTarget[];
  readonly metricsPorts: (number | string)[];
  readonly proxies: FaultProxy[];
  readonly front: RoundRobinFront | undefined;
  /** The topology's own database server, when it has one (on hosts): its postmaster, for its CPU. */
  readonly postmaster?: number;
  /** SIGSTOP / SIGCONT every process: parked, they use no CPU and keep their state and connections. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void;
  stop(): Promise<void>;
}

interface Context {
  readonly options: CompareOptions;
  readonly modules: readonly string[];
  readonly natsUrl: string;
  readonly nats: PrivateNatsServer | undefined;
  readonly server: Awaited<ReturnType<typeof startDatabaseServer>>;
  readonly progress: Progress;
  readonly runs: Map<string, EquivalenceRun>;
  readonly postmaster: number | undefined;
}

/**
 * Runs the comparison. First pass, each topology in turn on a fresh database:
 * the equivalence scenario and the saturation run. The slowest store
 * topology's saturation throughput then sets the offered rates (so every
 * topology is measured at rates it sustains). Second pass, each topology
 * brought up again on its database: the latency at those rates (open loop)
 * and the faults under the fixed rate. Then the verdicts and ratios.
 */
export async function runCompare(
  options: CompareOptions,
  modules: readonly string[],
  progress: Progress,
  /** Each module's callees (module.json), to tell a slow module from one waiting for it. */
  calls: Readonly<Record<string, readonly string[]>> = {},
): Promise<CompareRun> {
  const startedAt = new Date();
  const slots: Slot[] = options.topologies.map((name, index) => {
    const plan =
      name === BASELINE ? [{ name: BASELINE, env: { GATEWAY: 'on' as const }, entry: BASELINE_MAIN }] : planTopology(name.replace(ON_HOSTS, ''), modules);
    const processes = plan.map((p) => ({
      name: p.name,
      modules: name === BASELINE ? '(baseline)' : (p.env.MODULES ?? '(all)'),
      gateway: p.env.GATEWAY === 'on',
      port: 0,
    }));
    const extraEnv = { ...options.env, ...(options.topologyEnv[name] ?? {}) };
    return {
      name,
      index,
      plan,
      extraEnv,
      result: { name, status: 'ran', processes, extraEnv, phaseMs: {}, ...(name === BASELINE ? { baseline: true } : {}) },
      remote: new Map(),
    };
  });
  if ((options.parts.has('faults') || Object.keys(options.slow).length) && !modules.includes(options.faultModule)) {
    throw new Error(`--fault-module: no module '${options.faultModule}' (modules: ${modules.join(', ')})`);
  }
  const distributed = slots.filter((s) => usesNats(s));

  // Other workloads on the machine skew every number: say so up front.
  progress.status('measuring how busy the machine is (2 s)');
  const busyBefore = await machineBusy(2_000);
  if (busyBefore !== undefined && busyBefore > 20) {
    progress.log(`!!! the machine is already busy (${busyBefore}% of one core) before the run: other workloads skew the performance numbers`);
  }

  let nats: PrivateNatsServer | undefined;
  let natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  let natsOk = true;
  if (distributed.length > 0) {
    const binary = options.nats === 'private' ? PrivateNatsServer.findBinary() : undefined;
    if (binary) {
      progress.status('starting a private nats-server -js');
      nats = await PrivateNatsServer.start(binary);
      natsUrl = nats.url;
    } else {
      if (options.nats === 'private')
        progress.log(`!!! no nats-server binary (NATS_SERVER_BIN, /usr/sbin/nats-server): using NATS_URL ${natsUrl}; no NATS restart fault`);
      natsOk = await natsReachable(natsUrl);
      if (!natsOk) progress.log(`!!! NATS is not reachable at ${natsUrl}: SKIPPING the distributed topologies (${distributed.map((s) => s.name).join(', ')}).`);
    }
  }
  const stopNats = async () => nats?.stop();
  cleanups.add(stopNats);

  progress.status('starting PostgreSQL');
  const server = await startDatabaseServer();
  const stopServer = () => server.stop();
  cleanups.add(stopServer);
  const runs = new Map<string, EquivalenceRun>();
  let postmaster: number | undefined;
  let rates: CompareResults['rates'] = null;
  try {
    postmaster = await server.postmasterPid().catch(() => undefined);
    progress.log(`PostgreSQL: ${server.description}; NATS: ${nats ? `private nats-server -js at ${natsUrl}` : natsOk ? natsUrl : 'unreachable'}`);
    const context: Context = { options, modules, natsUrl, nats, server, progress, runs, postmaster };
    const secondPass = options.parts.has('latency') || options.parts.has('faults');
    const onePass = options.rate !== undefined || !options.parts.has('saturation');

    for (const slot of slots) {
      const tag = tagOf(slot, slots.length);
      if (slot.name === BASELINE && !options.parts.has('saturation') && !options.parts.has('latency')) {
        slot.result.status = 'skipped';
        slot.result.reason = 'the baseline takes part in the load parts only (saturation, latency)';
        continue;
      }
      if (usesNats(slot) && !natsOk) {
        slot.result.status = 'skipped';
        slot.result.reason = `NATS unreachable at ${natsUrl}`;
        progress.log(`${tag} SKIPPED: NATS is not reachable at ${natsUrl}`);
        continue;
      }
      await inTopology(slot, tag, context, !onePass && secondPass, async (session) => {
        if (options.parts.has('equivalence') && slot.name !== BASELINE) await runEquivalence(slot, tag, session, context);
        if (options.parts.has('saturation')) await saturation(slot, tag, session, context);
        if (onePass && secondPass) {
          rates ??= chooseRates(slots, options);
          await latencyAndFaults(slot, tag, session, context, rates);
        }
      });
    }
    if (!onePass && secondPass) {
      rates = chooseRates(slots, options);
      progress.log(`offered rates: ${rates.curve.join(', ')} checkouts/s (${rates.fixedRate}/s fixed: ${rates.fixedRateFrom})`);
      for (const slot of slots.filter((s) => s.result.status === 'ran')) {
        const tag = tagOf(slot, slots.length);
        await inTopology(slot, tag, context, false, (session) => latencyAndFaults(slot, tag, session, context, rates!));
      }
    }
  } finally {
    progress.status('stopping PostgreSQL and NATS');
    for (const slot of slots) {
      await slot.parked?.session.stop().catch(() => {});
      slot.parked = undefined;
      if (slot.database && !options.keepDatabases) await slot.database.drop().catch(() => {});
      if (slot.database && options.keepDatabases) progress.log(`[${slot.name}] database kept: ${slot.database.name}`);
    }
    await server.stop();
    cleanups.delete(stopServer);
    await nats?.stop();
    cleanups.delete(stopNats);
  }

  for (const slot of slots) {
    if (slot.remote.size) {
      slot.result.remoteByModule = Object.fromEntries(
        [...slot.remote].sort().map(([m, r]) => [m, { calls: r.calls, meanMs: Math.round((10 * r.totalMs) / r.calls) / 10 }]),
      );
    }
  }
  const topologies = slots.map((s) => s.result as TopologyResult);
  // Site tokens -> <idN>, numbered over every run together so that the same place gets the same number.
  const names = [...runs.keys()];
  const numbered = new Map(renumber(names.map((n) => runs.get(n)!)).map((run, i) => [names[i], run]));
  const equivalence = options.parts.has('equivalence')
    ? verdict(
        options.topologies.filter((t) => t !== BASELINE),
        numbered,
      )
    : null;
  const ratios = ratiosOf(topologies);
  const slow = slowModules(topologies, calls);
  const ok =
    topologies.every((t) => t.status !== 'failed') &&
    (equivalence === null || equivalence.verdict !== 'different') &&
    topologies.every((t) => !t.faults || t.faults.every((f) => f.ok)) &&
    topologies.every((t) => !t.scenario || (t.scenario.invariantViolations.length === 0 && t.scenario.unmet.length === 0)) &&
    slow.length === 0;
  const finishedAt = new Date();
  const cpu = cpus();
  return {
    runs: numbered,
    results: {
      tool: 'monolith-first compare',
      schemaVersion: 2,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      wallSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
      machine: {
        cpus: cpu.length,
        cpuModel: cpu[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        database: server.description,
        postgresCpu: postmaster
          ? `the server's postmaster (pid ${postmaster}) and its children`
          : 'every postgres process on the machine (the server is not local, or its postmaster was not found)',
        busyBeforeRunPercentOfCore: busyBefore ?? null,
        nats: nats ? `a private nats-server -js for this run (${natsUrl}, ${nats.binary})` : natsOk ? `${natsUrl} (shared)` : `unreachable (${natsUrl})`,
      },
      options: {
        topologies: options.topologies,
        parts: [...options.parts],
        durationS: options.durationS,
        concurrency: options.concurrency,
        rateDurationS: options.rateDurationS,
        stepDurationS: options.stepDurationS,
        pollMs: options.pollMs,
        preferWaitS: options.preferWaitS,
        targetRate: options.targetRate,
        faults: options.faults,
        slowMs: options.slowMs,
        slow: options.slow,
        seed: options.seed,
        faultMs: options.faultMs,
        faultModule: options.faultModule,
        env: options.env,
        topologyEnv: options.topologyEnv,
        spread: options.spread,
        hostsDelayMs: options.hostsDelayMs,
      },
      rates,
      slowModules: slow,
      topologies,
      equivalence,
      ratios,
      ok,
    },
  };
}

function tagOf(slot: Slot, count: number): string {
  return `[${slot.index + 1}/${count} ${slot.name}]`;
}

/** Whether the topology's processes talk over NATS (more than one process of the store, not only replicas of the monolith). */
function usesNats(slot: { name: string; plan: readonly ProcessPlan[] }): boolean {
  return slot.name !== BASELINE && slot.plan.some((p) => p.env.MODULES !== undefined);
}

/** The fixed rate and the curve's rates, from the slowest store topology's saturation throughput. */
function chooseRates(slots: readonly Slot[], options: CompareOptions): NonNullable<CompareResults['rates']> {
  const measured = slots
    .filter((s) => s.name !== BASELINE && s.result.performance && Number.isFinite(s.result.performance.completedPerSecond))
    .map((s) => ({ topology: s.name, completedPerSecond: s.result.performance!.completedPerSecond }))
    .sort((a, b) => a.completedPerSecond - b.completedPerSecond);
  const slowest = measured[0] ?? null;
  const at = (percent: number) => Math.max(1, Math.round((slowest.completedPerSecond * percent) / 100));
  const fixedRate = options.rate ?? (slowest ? at(options.fixedPercent) : FALLBACK_RATE);
  const fixedRateFrom =
    options.rate !== undefined
      ? '--rate'
      : slowest
        ? `${options.fixedPercent}% of the slowest store topology's saturation throughput (${slowest.topology}, ${slowest.completedPerSecond}/s)`
        : `no saturation run: a default of ${FALLBACK_RATE}/s`;
  const curve = slowest ? [...new Set([...options.curvePercents.map(at), fixedRate])].sort((a, b) => a - b) : [fixedRate];
  return { slowestCapacity: slowest, fixedRate, fixedRateFrom, curve };
}

/**
 * Brings the topology up (on its database, fresh the first time) or resumes it
 * where it was parked, runs `body`, then stops it or (`park`) parks it for the
 * second pass; a failure marks the topology failed.
 */
async function inTopology(slot: Slot, tag: string, context: Context, park: boolean, body: (session: Session) => Promise<void>): Promise<void> {
  const { progress } = context;
  const output: string[] = slot.parked?.output ?? [];
  let session: Session | undefined = slot.parked?.session;
  slot.parked = undefined;
  const stop = async () => session?.stop();
  cleanups.add(stop);
  let parked = false;
  try {
    if (session) {
      progress.status(`${tag} resuming its parked processes`);
      session.signal('SIGCONT');
      // Timers that fell due while parked fire now; NATS reconnects if the server gave up on them: let it settle.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await waitForHealthy(session.url, 60_000);
      progress.log(`${tag} resumed`);
    } else {
      if (!slot.database && !slot.name.endsWith(ON_HOSTS)) {
        progress.status(`${tag} creating a fresh database`);
        slot.database = await context.server.freshDatabase(`compare_${slot.name.replace(/[^a-z0-9_]/g, '_')}`);
      }
      const started = performance.now();
      session = await bringUp(slot, tag, context, output);
      const ms = Math.round(performance.now() - started);
      slot.result.startupMs = ms;
      (slot.result.phaseMs as Record<string, number>).startup = ms;
      const running = [...session.topology.processes.values()];
      slot.result.processes = running.map((p) => ({
        name: p.plan.name,
        modules: slot.name === BASELINE ? '(baseline)' : (p.plan.env.MODULES ?? '(all)'),
        gateway: p.plan.env.GATEWAY === 'on',
        port: p.port,
      }));
      progress.log(
        `${tag} up in ${(ms / 1000).toFixed(1)} s: ${running.map((p) => `${p.plan.name} :${p.port}`).join(', ')}${session.front ? ` behind a round-robin front :${session.front.port}` : ''}`,
      );
    }
    await body(session);
    if (park) {
      session.signal('SIGSTOP');
      slot.parked = { session, output };
      parked = true;
    }
  } catch (error) {
    slot.result.status = 'failed';
    slot.result.reason = ((error as Error)?.message ?? String(error)).split('\n')[0];
    slot.result.output = [...output];
    progress.log(`${tag} FAILED: ${slot.result.reason}`);
    for (const line of output.slice(-5)) progress.log(`${tag}   ${line}`);
  } finally {
    if (!parked) {
      progress.status(`${tag} stopping`);
      await session?.stop().catch(() => {});
    }
    cleanups.delete(stop);
    if (parked) cleanups.add(() => session!.stop());
  }
}

async function waitForHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return;
    } catch {
      // not yet
    }
    if (performance.now() > deadline) throw new Error(`${url}/health did not answer 200 within ${timeoutMs} ms after resuming`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function bringUp(slot: Slot, tag: string, context: Context, output: string[]): Promise<Session> {
  if (slot.name.endsWith(ON_HOSTS)) return bringUpOnHosts(slot, tag, context, output);
  const { progress, options } = context;
  // Set per attempt (below), then by the log lines of that attempt.
  let portTaken: boolean;
  const onLine = (process: string, line: string) => {
    if (line.includes('EADDRINUSE')) portTaken = true;
    output.push(`${process}| ${line}`);
    if (output.length > 60) output.shift();
  };
  // A planted slow module: its process(es) reach NATS through a proxy that delays every byte.
  const proxies: FaultProxy[] = [];
  const processEnv: Record<string, Record<string, string>> = {};
  for (const [module, ms] of Object.entries(options.slow[slot.name] ?? {})) {
    const hosts = slot.plan.filter((p) => p.env.MODULES === module);
    if (hosts.length === 0) throw new Error(`--slow: no process hosts only '${module}' in ${slot.name}`);
    const proxy = await FaultProxy.start(context.natsUrl, ms);
    proxies.push(proxy);
    for (const p of hosts) processEnv[p.name] = { NATS_URL: proxy.url };
  }
  // The scenario's carrier signs its webhooks: only the processes that host Shipping hold the secret (ADR 28).
  for (const p of slot.plan) {
    if (p.env.MODULES === undefined || p.env.MODULES.split(',').includes('shipping')) {
      processEnv[p.name] = { CARRIER_WEBHOOK_SECRET: COMPARE_CARRIER_SECRET, ...processEnv[p.name] };
    }
  }
  const env = {
    LOG_LEVEL: 'error',
    NATS_URL: context.natsUrl,
    NATS_SUBJECT_PREFIX: `cmp${randomBytes(4).toString('hex')}${slot.index}`,
    ...COMPARE_DELIVERY_ENV,
    ...slot.extraEnv,
  };
  progress.status(`${tag} starting ${slot.plan.length} process${slot.plan.length > 1 ? 'es' : ''}`);
  let topology: TopologyProcesses | undefined;
  try {
    // A port found free can still be taken before the process binds it (other programs): then again, on other ports.
    for (let attempt = 1; ; attempt++) {
      const port = await freePortRange(slot.plan.length);
      portTaken = false;
      try {
        topology = await TopologyProcesses.start({
          topology: slot.name,
          modules: context.modules,
          plans: slot.plan,
          port,
          ownDatabases: false,
          databaseUrl: slot.database!.url,
          env,
          processEnv,
          onLine,
        });
        break;
      } catch (error) {
        if (!portTaken || attempt >= 3) throw error;
        progress.log(`${tag} a port was taken meanwhile (EADDRINUSE): starting again on other ports`);
      }
    }
  } catch (error) {
    for (const proxy of proxies) await proxy.stop();
    throw error;
  }
  const started = topology;
  const gateways = started.gatewayUrls;
  const front = gateways.length > 1 ? await RoundRobinFront.start(gateways) : undefined;
  const running = [...started.processes.values()];
  const targets: ProcessTarget[] = running.map((p) => ({ name: p.plan.name, pid: () => p.child?.pid }));
  if (usesNats(slot)) {
    const shared = context.nats ? undefined : findProcess('nats-server');
    if (context.nats || shared !== undefined) targets.push({ name: NATS_SERVER, pid: () => context.nats?.pid ?? shared });
  }
  const signal = (sig: 'SIGSTOP' | 'SIGCONT') => {
    for (const p of started.processes.values()) {
      try {
        if (p.child?.pid !== undefined && p.child.exitCode === null) process.kill(p.child.pid, sig);
      } catch {
        // gone already
      }
    }
  };
  return {
    topology: started,
    url: front?.url ?? started.gatewayUrl,
    targets,
    metricsPorts: running.map((p) => p.port),
    proxies,
    front,
    signal,
    async stop() {
      signal('SIGCONT');
      await front?.stop();
      await started.stop();
      for (const proxy of proxies) await proxy.stop();
      // The run's own prefix: leave nothing on a NATS server others use (a private one goes anyway).
      if (usesNats(slot) && !context.nats) await deleteEventStream(context.natsUrl, env.NATS_SUBJECT_PREFIX).catch(() => {});
    },
  };
}

function addRemote(slot: Slot, byModule: Readonly<Record<string, { calls: number; meanMs: number }>>): void {
  for (const [module, r] of Object.entries(byModule)) {
    const entry = slot.remote.get(module) ?? { calls: 0, totalMs: 0 };
    entry.calls += r.calls;
    entry.totalMs += r.calls * r.meanMs;
    slot.remote.set(module, entry);
  }
}

async function runEquivalence(slot: Slot, tag: string, session: Session, context: Context): Promise<void> {
  const { progress, options } = context;
  const t0 = performance.now();
  const before = await Promise.all(session.metricsPorts.map(scrape));
  const transcript = await runScenario(session.url, slot.database!.url, options.seed, (n, label) => progress.tick(`${tag} scenario #${n} ${label}`));
  addRemote(slot, remoteCallsByModule(delta(before, await Promise.all(session.metricsPorts.map(scrape)))));
  progress.status(`${tag} scenario: reading the final state`);
  const normaliser = new Normaliser();
  const normalised = normaliseTranscript(transcript, normaliser);
  const state = await readFinalState(slot.database!.url, normaliser);
  context.runs.set(slot.name, { transcript: normalised, state });
  const violations = await storeInvariantViolations(slot.database!.url);
  const unmet = unmetExpectations(transcript);
  slot.result.scenario = { steps: transcript.length, invariantViolations: violations, unmet };
  (slot.result.phaseMs as Record<string, number>).equivalence = Math.round(performance.now() - t0);
  progress.log(
    `${tag} scenario: ${transcript.length} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s${violations.length ? `, INVARIANTS VIOLATED: ${violations.join('; ')}` : ''}` +
      `${unmet.length ? `, STEPS NOT AS THE CONTRACT SAYS: ${unmet.join('; ')}` : ''}`,
  );
}

/**
 * `<topology>@hosts`: the topology on hosts of its own (tools/hosts/multi-host.ts): a network
 * namespace per process, PostgreSQL and a NATS cluster on hosts of their own, each process with
 * its Kubernetes container's environment, every link delayed `--hosts-delay-ms` each way. Its
 * database is the harness's (fresh for each bring-up). Needs root; faults do not run there.
 */
async function bringUpOnHosts(slot: Slot, tag: string, context: Context, output: string[]): Promise<Session> {
  const { progress, options } = context;
  const unavailable = multiHostUnavailable();
  if (unavailable) throw new Error(`cannot run on hosts here: ${unavailable}`);
  progress.status(`${tag} bringing ${slot.plan.length} processes up on hosts of their own (links +${options.hostsDelayMs} ms each way)`);
  const harness = await MultiHost.start({
    topology: slot.name.replace(ON_HOSTS, ''),
    delayMs: options.hostsDelayMs,
    // As on this machine's topologies: the scenario's carrier secret (the rendered Secret gives it to the Shipping
    // hosts only) and its review delay, so that its deliveries settle.
    carrierSecret: COMPARE_CARRIER_SECRET,
    envOverrides: { LOG_LEVEL: 'error', ...COMPARE_DELIVERY_ENV, ...slot.extraEnv },
    // compare's own Ctrl-C handler stops every session (cleanups), this one with it.
    handleSignals: false,
    onLine: (host, line) => {
      output.push(`${host}| ${line}`);
      if (output.length > 60) output.shift();
    },
  });
  const adminUrl = harness.adminUrl;
  slot.database = { name: `store (on ${harness.network.host('postgres').address})`, url: adminUrl, drop: async () => {} };
  // What the report and the CPU sampling read of a topology's processes (faults, which need more, never run on hosts).
  const processes = new Map(
    harness.stores.map((store) => [
      store.host,
      {
        plan: store.plan,
        port: 3000,
        get child() {
          return store.child;
        },
      },
    ]),
  );
  const signal = (sig: 'SIGSTOP' | 'SIGCONT') => {
    for (const store of harness.stores) {
      try {
        if (store.child?.pid !== undefined && store.child.exitCode === null) process.kill(store.child.pid, sig);
      } catch {
        // gone already
      }
    }
  };
  return {
    topology: { processes } as unknown as TopologyProcesses,
    url: harness.gatewayUrl,
    targets: [
      ...harness.stores.map((store) => ({ name: store.host, pid: () => store.child?.pid })),
      // The three nodes under one name: the sampler sums the pids of a name (the report has one NATS column).
      ...harness.natsPids.map(({ pid }) => ({ name: NATS_SERVER, pid: () => pid })),
    ],
    metricsPorts: harness.stores.map((store) => harness.urlOf(store.host)),
    proxies: [],
    front: undefined,
    postmaster: harness.postgresPid,
    signal,
    async stop() {
      signal('SIGCONT');
      await harness.stop();
    },
  };
}

async function saturation(slot: Slot, tag: string, session: Session, context: Context): Promise<void> {
  const { progress, options } = context;
  const t0 = performance.now();
  const sku = `LOAD-${slot.index}`;
  await createProduct(session.url, sku);
  progress.status(`${tag} saturation: ${options.concurrency} connections for ${options.durationS} s`);
  const p = await runLoad({
    baseUrl: session.url,
    adminUrl: slot.database!.url,
    durationS: options.durationS,
    concurrency: options.concurrency,
    sku,
    processes: session.targets,
    postmaster: session.postmaster ?? context.postmaster,
    metricsPorts: session.metricsPorts,
    warmUpS: 2,
    drainTimeoutMs: 180_000,
    onTick: (text) => progress.tick(`${tag} saturation ${text}`),
    ordersTable: slot.name === BASELINE ? 'baseline.orders' : undefined,
  });
  slot.result.performance = p;
  if (options.spread > 1) {
    // The same load over many products: no single row lock for every checkout to queue on.
    const skus = Array.from({ length: options.spread }, (_, i) => `SPREAD-${slot.index}-${i}`);
    for (const each of skus) await createProduct(session.url, each);
    progress.status(`${tag} saturation over ${options.spread} products: ${options.concurrency} connections for ${options.durationS} s`);
    const spread = await runLoad({
      baseUrl: session.url,
      adminUrl: slot.database!.url,
      durationS: options.durationS,
      concurrency: options.concurrency,
      sku: skus[0],
      skus,
      processes: session.targets,
      postmaster: session.postmaster ?? context.postmaster,
      metricsPorts: session.metricsPorts,
      warmUpS: 1,
      drainTimeoutMs: 180_000,
      onTick: (text) => progress.tick(`${tag} saturation (spread) ${text}`),
      ordersTable: slot.name === BASELINE ? 'baseline.orders' : undefined,
    });
    slot.result.performanceSpread = spread;
    progress.log(
      `${tag} saturation over ${options.spread} products: ${spread.completedPerSecond} completed checkouts/s (one product: ${p.completedPerSecond})`,
    );
  }
  (slot.result.phaseMs as Record<string, number>).saturation = Math.round(performance.now() - t0);
  progress.log(
    `${tag} saturation: ${p.completedPerSecond} completed checkouts/s (${p.confirmed} confirmed, ${p.pendingAtLoadEnd} still pending when the load stopped), ` +
      `${p.perCheckout.remoteCalls} remote calls per checkout`,
  );
  if (p.machine && p.machine.otherPercentOfCore > 20)
    progress.log(`${tag} !!! other workloads used ${p.machine.otherPercentOfCore}% of one core during the load: its numbers are skewed`);
}

async function latencyAndFaults(slot: Slot, tag: string, session: Session, context: Context, rates: NonNullable<CompareResults['rates']>): Promise<void> {
  const { options, progress } = context;
  const sku = `RATE-${slot.index}`;
  await createProduct(session.url, sku);
  if (options.parts.has('latency')) {
    const t0 = performance.now();
    const point = (rate: number, durationS: number, customer: string, preferWaitS?: number) =>
      runRatePoint({
        baseUrl: session.url,
        adminUrl: slot.database!.url,
        rate,
        durationS,
        sku,
        customer,
        processes: session.targets,
        postmaster: session.postmaster ?? context.postmaster,
        metricsPorts: session.metricsPorts,
        pollMs: options.pollMs,
        ...(preferWaitS === undefined ? {} : { preferWaitS }),
        onTick: (text) => progress.tick(`${tag} latency ${text}`),
      });
    const settle = () => (slot.name === BASELINE ? Promise.resolve() : waitForQuiet(slot.database!.url, 60_000).then(() => {}));
    progress.status(`${tag} latency: warm-up at ${rates.curve[0]}/s`);
    await point(rates.curve[0], 2, 'compare-warm-up');
    await settle();
    const points: RatePoint[] = [];
    for (const rate of rates.curve) {
      const fixed = rate === rates.fixedRate;
      const result = await point(rate, fixed ? options.rateDurationS : options.stepDurationS, `compare-rate-${rate}`);
      points.push(result);
      if (fixed) addRemote(slot, result.remoteByModule);
      progress.log(
        `${tag} ${rate}/s${fixed ? ' (fixed)' : ''}: POST p50/p99 ${result.postMs.p50}/${result.postMs.p99} ms, terminal p50/p99 ${result.terminalMs.p50}/${result.terminalMs.p99} ms, ` +
          `${result.completedPerSecond}/s completed${result.sustained ? '' : ' NOT SUSTAINED'}` +
          (result.notificationLagMs ? `, notification lag p50/p99 ${result.notificationLagMs.p50}/${result.notificationLagMs.p99} ms` : ''),
      );
      await settle();
      // Beyond a rate it does not sustain a topology only queues: the higher points are left out (except the fixed one).
      if (!result.sustained && rate >= rates.fixedRate) break;
    }
    // The waiting client (`Prefer: wait`) at the fixed rate, as long as the polling one: its 201's arrival is the
    // order's end, so the difference between the two is the polling's granularity and cost, nothing else.
    let waiting: RatePoint | null = null;
    // Not the baseline: its POST already answers the terminal order, and it knows no preference.
    if (options.preferWaitS > 0 && slot.name !== BASELINE) {
      progress.status(`${tag} latency: the waiting client (Prefer: wait=${options.preferWaitS}) at ${rates.fixedRate}/s`);
      waiting = await point(rates.fixedRate, options.rateDurationS, `compare-wait-${rates.fixedRate}`, options.preferWaitS);
      progress.log(
        `${tag} ${rates.fixedRate}/s with Prefer: wait=${options.preferWaitS}: POST -> terminal p50/p99 ${waiting.terminalMs.p50}/${waiting.terminalMs.p99} ms ` +
          `(${waiting.terminalInAnswer} of ${waiting.accepted} answered terminal, the rest polled)${waiting.sustained ? '' : ' NOT SUSTAINED'}`,
      );
      await settle();
    }
    slot.result.latency = { fixedRate: rates.fixedRate, points, waiting };
    (slot.result.phaseMs as Record<string, number>).latency = Math.round(performance.now() - t0);
  }
  if (options.parts.has('faults') && slot.name !== BASELINE && slot.name.endsWith(ON_HOSTS)) {
    context.progress.log(`${tag} faults: not run on hosts (the faults part stops and slows processes of this machine's topologies)`);
  }
  if (options.parts.has('faults') && slot.name !== BASELINE && !slot.name.endsWith(ON_HOSTS)) {
    const t0 = performance.now();
    const results = [];
    for (const fault of await faultsOf(slot, session, context)) {
      progress.status(`${tag} fault: ${fault.description}`);
      const f = await runFault({
        fault,
        baseUrl: session.url,
        adminUrl: slot.database!.url,
        rate: rates.fixedRate,
        faultMs: options.faultMs,
        preMs: 2_000,
        postMs: 2_000,
        recoveryCapMs: 30_000,
        sku,
        customer: `compare-fault-${fault.kind}`,
        seed: options.seed,
        quietTimeoutMs: 120_000,
        carrierSecret: COMPARE_CARRIER_SECRET,
        onTick: (text) => progress.tick(`${tag} ${text}`),
      });
      results.push(f);
      progress.log(
        `${tag} fault ${f.description} for ${f.faultMs} ms at ${f.rate}/s: ${f.failed} failed requests (${f.unavailable503} x 503), ` +
          `recovered ${f.timeToRecoverMs ?? '-'} ms after the heal; lost ${f.lost}, charged twice ${f.chargedTwice}, ` +
          `${
            f.deliveries
              ? `deliveries ${
                  Object.entries(f.deliveries.sent)
                    .map(([e, n]) => `${n} ${e}`)
                    .join(', ') || 'none'
                } ${f.deliveries.ok ? 'ended' : 'DID NOT ALL END'}, `
              : ''
          }` +
          `invariants ${f.invariantViolations.length ? 'VIOLATED' : 'hold'} -> ${f.ok ? 'ok' : 'FAILED'}`,
      );
    }
    slot.result.faults = results;
    (slot.result.phaseMs as Record<string, number>).faults = Math.round(performance.now() - t0);
  }
}

/** The faults of `--faults` that apply to the topology, in order; the network ones route the faulted process through a proxy first. */
async function faultsOf(slot: Slot, session: Session, context: Context): Promise<Fault[]> {
  const { options } = context;
  const { topology } = session;
  const names = [...topology.processes.keys()];
  const replicas = slot.name.endsWith('-replicas');
  const hosting = names.filter((n) => topology.processes.get(n)!.plan.env.MODULES === options.faultModule);
  const target = names.length === 1 ? names[0] : replicas && hosting.length === 0 ? names[0] : hosting[0];
  if (!target) throw new Error(`no process hosts only '${options.faultModule}' in ${slot.name}`);
  const faults: Fault[] = [];
  const healthy = async (name: string) => topology.startProcess(name);
  if (options.faults.includes('kill')) {
    faults.push({
      kind: replicas ? 'kill-replica' : 'kill',
      description: replicas ? `${target} (one of two replicas) SIGKILLed` : `${target} SIGKILLed`,
      target,
      inject: () => topology.stopProcess(target, 'SIGKILL'),
      heal: () => healthy(target),
    });
  }
  const network = usesNats(slot) && (options.faults.includes('slow') || options.faults.includes('partition'));
  if (network) {
    // Through the proxy from a graceful restart on: no proxy in the path of the measurements before.
    const planted = session.proxies.find((p) => (topology.processes.get(target)!.plan.env as Record<string, string | undefined>).NATS_URL === p.url);
    const proxy = planted ?? (await FaultProxy.start(context.natsUrl));
    if (!planted) {
      session.proxies.push(proxy);
      topology.setProcessEnv(target, { NATS_URL: proxy.url });
      await topology.stopProcess(target, 'SIGTERM');
      await topology.startProcess(target);
      await waitForQuiet(slot.database!.url, 60_000);
    }
    if (options.faults.includes('slow')) {
      faults.push({
        kind: 'slow',
        description: `${target} <-> NATS +${options.slowMs} ms each way`,
        target,
        inject: async () => proxy.delay(options.slowMs),
        heal: async () => proxy.heal(),
      });
    }
    if (options.faults.includes('partition')) {
      faults.push({
        kind: 'partition',
        description: `${target} partitioned from NATS (traffic dropped)`,
        target,
        inject: async () => proxy.partition(),
        heal: async () => proxy.heal(),
      });
    }
  }
  if (options.faults.includes('nats-restart') && usesNats(slot) && context.nats) {
    const nats = context.nats;
    faults.push({
      kind: 'nats-restart',
      description: 'the NATS server SIGKILLed and restarted',
      target: NATS_SERVER,
      inject: () => nats.kill('SIGKILL'),
      heal: () => nats.spawn(),
    });
  }
  return faults;
}

async function createProduct(baseUrl: string, sku: string): Promise<void> {
  const response = await fetch(`${baseUrl}/inventory/products`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sku, name: 'Load kettle', priceCents: 2599, stock: 1_000_000 }),
  });
  if (response.status !== 201) throw new Error(`creating product ${sku}: ${response.status} ${await response.text()}`);
}

function verdict(names: readonly string[], runs: ReadonlyMap<string, EquivalenceRun>): EquivalenceResult {
  const ran = names.filter((n) => runs.has(n));
  const missing = names.filter((n) => !runs.has(n));
  const reference = ran[0] ?? names[0];
  const comparisons = ran.slice(1).map((topology) => {
    const differences = diffRuns(runs.get(reference)!, runs.get(topology)!);
    return { topology, identical: differences.length === 0, differences };
  });
  const different = comparisons.some((c) => !c.identical);
  return {
    reference,
    verdict: different ? 'different' : missing.length > 0 || ran.length < 2 ? 'incomplete' : 'identical',
    comparisons,
    missing,
  };
}
