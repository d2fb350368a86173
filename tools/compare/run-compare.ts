import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { planTopology } from '../topology/topologies.js';
import { TopologyProcesses } from '../topology/topology-processes.js';
import { startDatabaseServer } from './database-server.js';
import { diffRuns, type EquivalenceRun } from './diff.js';
import { runFault } from './faults.js';
import { readFinalState } from './final-state.js';
import { storeInvariantViolations } from '../support/store-invariants.js';
import { NATS_SERVER } from './process-stats.js';
import { findProcess, machineBusy } from '../support/proc.js';
import { runLoad } from './load.js';
import { freePortRange, natsReachable } from '../support/network.js';
import { Normaliser, normaliseTranscript, renumber } from './normalise.js';
import type { CompareOptions } from './options.js';
import type { Progress } from './progress.js';
import { ratiosOf } from './ratios.js';
import type { CompareResults, EquivalenceResult, TopologyResult } from './results.js';
import { runScenario } from './scenario.js';

export interface CompareRun {
  readonly results: CompareResults;
  /** The normalised transcript and final state of each topology that ran the scenario. */
  readonly runs: ReadonlyMap<string, EquivalenceRun>;
}

/** Lets Ctrl-C stop whatever is running (processes, embedded Postgres) before exiting. */
export const cleanups = new Set<() => Promise<void>>();

/**
 * Runs the comparison: each topology in turn on a fresh database, with the
 * parts asked for (equivalence, performance, faults), then the equivalence
 * verdict against the first topology and the ratios against the monolith.
 */
export async function runCompare(options: CompareOptions, modules: readonly string[], progress: Progress): Promise<CompareRun> {
  const startedAt = new Date();
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const plans = new Map(options.topologies.map((t) => [t, planTopology(t, modules)]));
  const distributed = options.topologies.filter((t) => plans.get(t)!.length > 1);
  const nats = distributed.length === 0 ? true : await natsReachable(natsUrl);
  if (!nats) {
    progress.log(`!!! NATS is not reachable at ${natsUrl}: SKIPPING the distributed topologies (${distributed.join(', ')}).`);
  }
  if (options.parts.has('faults') && !modules.includes(options.faultModule)) {
    throw new Error(`--fault-module: no module '${options.faultModule}' (modules: ${modules.join(', ')})`);
  }

  // Other workloads on the machine skew every number: say so up front.
  progress.status('measuring how busy the machine is (2 s)');
  const busyBefore = await machineBusy(2_000);
  if (busyBefore !== undefined && busyBefore > 20) {
    progress.log(`!!! the machine is already busy (${busyBefore}% of one core) before the run: other workloads skew the performance numbers`);
  }
  progress.status('starting PostgreSQL');
  const server = await startDatabaseServer();
  const stopServer = () => server.stop();
  cleanups.add(stopServer);
  const topologies: TopologyResult[] = [];
  const runs = new Map<string, EquivalenceRun>();
  let postmaster: number | undefined;
  try {
    postmaster = await server.postmasterPid().catch(() => undefined);
    progress.log(`PostgreSQL: ${server.description}; NATS: ${nats ? natsUrl : 'unreachable'}`);
    for (const [index, name] of options.topologies.entries()) {
      const plan = plans.get(name)!;
      const tag = `[${index + 1}/${options.topologies.length} ${name}]`;
      const extraEnv = { ...options.env, ...(options.topologyEnv[name] ?? {}) };
      const processes = plan.map((p) => ({ name: p.name, modules: p.env.MODULES ?? '(all)', gateway: p.env.GATEWAY === 'on', port: 0 }));
      if (plan.length > 1 && !nats) {
        topologies.push({ name, status: 'skipped', reason: `NATS unreachable at ${natsUrl}`, processes, extraEnv, phaseMs: {} });
        progress.log(`${tag} SKIPPED: NATS is not reachable at ${natsUrl}`);
        continue;
      }
      const result = await runTopology(name, tag, plan.length, extraEnv, processes, { options, modules, natsUrl, server, progress, runs, index, postmaster });
      topologies.push(result);
    }
  } finally {
    progress.status('stopping PostgreSQL');
    await server.stop();
    cleanups.delete(stopServer);
  }

  // Site tokens -> <idN>, numbered over every run together so that the same place gets the same number.
  const names = [...runs.keys()];
  const numbered = new Map(renumber(names.map((n) => runs.get(n)!)).map((run, i) => [names[i], run]));
  const equivalence = options.parts.has('equivalence') ? verdict(options.topologies, numbered) : null;
  const ratios = ratiosOf(topologies);
  const ok =
    topologies.every((t) => t.status !== 'failed') &&
    (equivalence === null || equivalence.verdict !== 'different') &&
    topologies.every((t) => !t.faults || t.faults.ok) &&
    topologies.every((t) => !t.scenario || t.scenario.invariantViolations.length === 0);
  const finishedAt = new Date();
  const cpu = cpus();
  return {
    runs: numbered,
    results: {
      tool: 'monolith-first compare',
      schemaVersion: 1,
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
        postgresCpu: postmaster ? `the server's postmaster (pid ${postmaster}) and its children` : 'every postgres process on the machine (the server is not local, or its postmaster was not found)',
        busyBeforeRunPercentOfCore: busyBefore ?? null,
        nats: nats ? natsUrl : `unreachable (${natsUrl})`,
      },
      options: {
        topologies: options.topologies,
        parts: [...options.parts],
        durationS: options.durationS,
        concurrency: options.concurrency,
        seed: options.seed,
        faultMs: options.faultMs,
        faultModule: options.faultModule,
        env: options.env,
        topologyEnv: options.topologyEnv,
      },
      topologies,
      equivalence,
      ratios,
      ok,
    },
  };
}

interface Context {
  readonly options: CompareOptions;
  readonly modules: readonly string[];
  readonly natsUrl: string;
  readonly server: Awaited<ReturnType<typeof startDatabaseServer>>;
  readonly progress: Progress;
  readonly runs: Map<string, EquivalenceRun>;
  readonly index: number;
  readonly postmaster: number | undefined;
}

async function runTopology(
  name: string,
  tag: string,
  processCount: number,
  extraEnv: Record<string, string>,
  processes: Array<{ name: string; modules: string; gateway: boolean; port: number }>,
  context: Context,
): Promise<TopologyResult> {
  const { options, progress } = context;
  const phaseMs: Record<string, number> = {};
  const output: string[] = [];
  let portTaken = false;
  const onLine = (process: string, line: string) => {
    if (line.includes('EADDRINUSE')) portTaken = true;
    output.push(`${process}| ${line}`);
    if (output.length > 60) output.shift();
  };
  let topology: TopologyProcesses | undefined;
  let database: Awaited<ReturnType<Context['server']['freshDatabase']>> | undefined;
  const stopTopology = async () => {
    await topology?.stop();
  };
  context.progress.status(`${tag} creating a fresh database`);
  const result: { -readonly [K in keyof TopologyResult]: TopologyResult[K] } = { name, status: 'ran', processes, extraEnv, phaseMs };
  try {
    database = await context.server.freshDatabase(`compare_${name}`);
    const env = {
      LOG_LEVEL: 'error',
      NATS_URL: context.natsUrl,
      NATS_SUBJECT_PREFIX: `cmp${randomBytes(4).toString('hex')}${context.index}`,
      ...extraEnv,
    };
    progress.status(`${tag} starting ${processCount} process${processCount > 1 ? 'es' : ''}`);
    const started = performance.now();
    cleanups.add(stopTopology);
    // A port found free can still be taken before the process binds it (other programs): then again, on other ports.
    for (let attempt = 1; ; attempt++) {
      const port = await freePortRange(processCount);
      portTaken = false;
      try {
        topology = await TopologyProcesses.start({ topology: name, modules: context.modules, port, ownDatabases: false, databaseUrl: database.url, env, onLine });
        break;
      } catch (error) {
        if (!portTaken || attempt >= 3) throw error;
        progress.log(`${tag} a port was taken meanwhile (EADDRINUSE): starting again on other ports`);
      }
    }
    result.startupMs = Math.round(performance.now() - started);
    phaseMs.startup = result.startupMs;
    const running = [...topology.processes.values()];
    result.processes = running.map((p) => ({ name: p.plan.name, modules: p.plan.env.MODULES ?? '(all)', gateway: p.plan.env.GATEWAY === 'on', port: p.port }));
    progress.log(`${tag} up in ${(result.startupMs / 1000).toFixed(1)} s: ${running.map((p) => `${p.plan.name} :${p.port}`).join(', ')}`);
    const url = topology.gatewayUrl;

    if (options.parts.has('equivalence')) {
      const t0 = performance.now();
      const transcript = await runScenario(url, database.url, options.seed, (n, label) => progress.tick(`${tag} scenario #${n} ${label}`));
      progress.status(`${tag} scenario: reading the final state`);
      const normaliser = new Normaliser();
      const normalised = normaliseTranscript(transcript, normaliser);
      const state = await readFinalState(database.url, normaliser);
      context.runs.set(name, { transcript: normalised, state });
      const violations = await storeInvariantViolations(database.url);
      result.scenario = { steps: transcript.length, invariantViolations: violations };
      phaseMs.equivalence = Math.round(performance.now() - t0);
      progress.log(`${tag} scenario: ${transcript.length} steps in ${(phaseMs.equivalence / 1000).toFixed(1)} s${violations.length ? `, INVARIANTS VIOLATED: ${violations.join('; ')}` : ''}`);
    }

    const targets = running.map((p) => ({ name: p.plan.name, pid: () => p.child?.pid }));
    const natsPid = processCount > 1 ? findProcess('nats-server') : undefined;
    if (natsPid !== undefined) targets.push({ name: NATS_SERVER, pid: () => natsPid });
    if (options.parts.has('performance')) {
      const t0 = performance.now();
      const sku = `LOAD-${context.index}`;
      await createProduct(url, sku);
      progress.status(`${tag} load: ${options.concurrency} connections for ${options.durationS} s`);
      result.performance = await runLoad({
        baseUrl: url,
        adminUrl: database.url,
        durationS: options.durationS,
        concurrency: options.concurrency,
        sku,
        processes: targets,
        postmaster: context.postmaster,
        metricsPorts: running.map((p) => p.port),
        warmUpS: 2,
        drainTimeoutMs: 180_000,
        onTick: (text) => progress.tick(`${tag} ${text}`),
      });
      phaseMs.performance = Math.round(performance.now() - t0);
      const p = result.performance;
      progress.log(
        `${tag} load: ${p.completedPerSecond} completed checkouts/s (${p.confirmed} confirmed), POST p50/p99 ${p.postLatencyMs.p50}/${p.postLatencyMs.p99} ms, ` +
          `saga p50/p99 ${p.endToEndMs.p50}/${p.endToEndMs.p99} ms, ${p.perCheckout.remoteCalls} remote calls per checkout`,
      );
      if (p.machine && p.machine.otherPercentOfCore > 20) {
        progress.log(`${tag} !!! other workloads used ${p.machine.otherPercentOfCore}% of one core during the load: its numbers are skewed`);
      }
    }

    if (options.parts.has('faults')) {
      const t0 = performance.now();
      const target = processCount === 1 ? running[0].plan.name : running.find((p) => p.plan.env.MODULES === options.faultModule)?.plan.name;
      if (!target) throw new Error(`no process hosts only '${options.faultModule}' in ${name}`);
      const sku = `FAULT-${context.index}`;
      await createProduct(url, sku);
      progress.status(`${tag} fault: SIGKILL ${target} for ${options.faultMs} ms under load`);
      result.faults = await runFault({
        topology,
        target,
        baseUrl: url,
        adminUrl: database.url,
        concurrency: options.concurrency,
        faultMs: options.faultMs,
        preMs: 2_000,
        postMs: 3_000,
        recoveryCapMs: 30_000,
        sku,
        seed: options.seed,
        backoffMs: 20,
        quietTimeoutMs: 150_000,
        onTick: (text) => progress.tick(`${tag} ${text}`),
      });
      phaseMs.faults = Math.round(performance.now() - t0);
      const f = result.faults;
      progress.log(
        `${tag} fault (${target} down ${options.faultMs} ms): ${f.failed} failed requests (${f.unavailable503} x 503), ` +
          `recovered ${f.timeToRecoverMs ?? '-'} ms after the restart; lost ${f.lost}, charged twice ${f.chargedTwice}, ` +
          `invariants ${f.invariantViolations.length ? 'VIOLATED' : 'hold'} -> ${f.ok ? 'ok' : 'FAILED'}`,
      );
    }
  } catch (error) {
    result.status = 'failed';
    result.reason = ((error as Error)?.message ?? String(error)).split('\n')[0];
    result.output = [...output];
    progress.log(`${tag} FAILED: ${result.reason}`);
    for (const line of output.slice(-5)) progress.log(`${tag}   ${line}`);
  } finally {
    progress.status(`${tag} stopping`);
    await topology?.stop().catch(() => {});
    cleanups.delete(stopTopology);
    if (database && !options.keepDatabases) await database.drop().catch(() => {});
    if (database && options.keepDatabases) progress.log(`${tag} database kept: ${database.name}`);
  }
  return result;
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
