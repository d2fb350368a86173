import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedServer } from '../../src/platform/database/embedded-postgres.js';
import { planTopology, type ProcessPlan } from './topologies.js';

// From the build (dist/tools/topology) the entry is beside; from the sources (tests), it is the build's.
const MAIN =
  [new URL('../../src/main.js', import.meta.url), new URL('../../dist/src/main.js', import.meta.url)]
    .map((url) => fileURLToPath(url))
    .find((file) => existsSync(file)) ?? fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

export interface TopologyOptions {
  readonly topology: string;
  readonly modules: readonly string[];
  /** The gateway's port; headless processes take the next ones (they serve /health only). */
  readonly port: number;
  /** Give every headless module process a database of its own (`<MODULE>_DATABASE_URL`). */
  readonly ownDatabases: boolean;
  /** Variables added to every process (e.g. LOG_LEVEL, CHECKOUT_*). */
  readonly env: Readonly<Record<string, string>>;
  /** Where each output line of each process goes. */
  readonly onLine: (process: string, line: string) => void;
  /** The PostgreSQL to use; default DATABASE_URL, else an embedded server started here. */
  readonly databaseUrl?: string;
  /** The processes, when not those of `planTopology(topology)` (e.g. a baseline program). */
  readonly plans?: readonly ProcessPlan[];
  /** Variables of single processes by name, over `env` (e.g. another NATS_URL through a fault proxy). */
  readonly processEnv?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** How long a process may take to answer /health 200 when started (default 60 s; a loaded machine needs more). */
  readonly startTimeoutMs?: number;
}

export interface RunningProcess {
  readonly plan: ProcessPlan;
  readonly port: number;
  child: ChildProcess | undefined;
}

/**
 * Runs every process of a topology from the build, on one PostgreSQL (the
 * one of DATABASE_URL, or an embedded one started here) and NATS. The same
 * handle stops and restarts single processes, for fault experiments.
 */
export class TopologyProcesses {
  private constructor(
    readonly processes: ReadonlyMap<string, RunningProcess>,
    private readonly baseEnv: Record<string, string>,
    private readonly options: TopologyOptions,
    private readonly embedded: EmbeddedServer | undefined,
  ) {}

  get gatewayUrl(): string {
    return this.gatewayUrls[0];
  }

  /** Every process serving the public API (several with replicas). */
  get gatewayUrls(): string[] {
    return [...this.processes.values()].filter((p) => p.plan.env.GATEWAY === 'on').map((p) => `http://127.0.0.1:${p.port}`);
  }

  static async start(options: TopologyOptions): Promise<TopologyProcesses> {
    const plans = options.plans ?? planTopology(options.topology, options.modules);
    let embedded: EmbeddedServer | undefined;
    let databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({
        dataDir: process.env.EMBEDDED_PG_DIR || '.data/postgres',
        port: Number(process.env.EMBEDDED_PG_PORT || 54329),
        relocatable: !process.env.EMBEDDED_PG_DIR,
      });
      databaseUrl = embedded.url;
    }
    const baseEnv: Record<string, string> = {
      ...stringEnv(process.env),
      DATABASE_URL: databaseUrl,
      SERVICE_TOKEN: process.env.SERVICE_TOKEN ?? randomBytes(16).toString('hex'),
      ...options.env,
    };
    const processes = new Map<string, RunningProcess>();
    // The (first) gateway on `port`, every other process on the next ones.
    let port = options.port + 1;
    let gatewayPlaced = false;
    for (const plan of plans) {
      const isGateway = plan.env.GATEWAY === 'on';
      const own = options.ownDatabases && !isGateway && plan.env.MODULES ? await ownDatabase(databaseUrl, plan.env.MODULES) : {};
      const first = isGateway && !gatewayPlaced;
      if (first) gatewayPlaced = true;
      processes.set(plan.name, {
        plan: { ...plan, env: { ...plan.env, ...own, ...(options.processEnv?.[plan.name] ?? {}) } },
        port: first ? options.port : port++,
        child: undefined,
      });
    }
    const topology = new TopologyProcesses(processes, baseEnv, options, embedded);
    try {
      // Module processes together (a headless process is healthy only once the modules it calls are),
      // then the gateway, which needs them all.
      const isGateway = (name: string) => processes.get(name)!.plan.env.GATEWAY === 'on';
      const names = [...processes.keys()];
      await Promise.all(names.filter((name) => !isGateway(name)).map((name) => topology.startProcess(name)));
      for (const name of names.filter(isGateway)) await topology.startProcess(name);
    } catch (error) {
      await topology.stop();
      throw error;
    }
    return topology;
  }

  /** Starts (or restarts) one process and waits for its /health to answer 200. */
  async startProcess(name: string, timeoutMs = this.options.startTimeoutMs ?? 60_000): Promise<void> {
    const running = this.processes.get(name);
    if (!running) throw new Error(`no process '${name}' in this topology`);
    const env = { ...this.baseEnv, ...running.plan.env, PORT: String(running.port) };
    if (running.plan.env.MODULES === undefined) delete (env as Record<string, string>).MODULES;
    const child = spawn(process.execPath, ['--enable-source-maps', running.plan.entry ?? MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => this.options.onLine(name, line));
    }
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => reject(new Error(`${name} exited (${signal ?? code}) before it was healthy`))),
    );
    exited.catch(() => {});
    await Promise.race([waitForHealth(`http://127.0.0.1:${running.port}/health`, timeoutMs), exited]);
  }

  /** Changes variables of one process, from its next start (e.g. its NATS_URL through a fault proxy). */
  setProcessEnv(name: string, env: Readonly<Record<string, string>>): void {
    const running = this.processes.get(name);
    if (!running) throw new Error(`no process '${name}' in this topology`);
    (running as { plan: ProcessPlan }).plan = { ...running.plan, env: { ...running.plan.env, ...env } };
  }

  /** Stops one process: SIGTERM (graceful) or SIGKILL (a crash). */
  async stopProcess(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const running = this.processes.get(name);
    const child = running?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    running.child = undefined;
  }

  async stop(): Promise<void> {
    // The gateway first, so no new work arrives while the modules drain.
    for (const name of [...this.processes.keys()].reverse()) await this.stopProcess(name);
    await this.embedded?.stop();
  }
}

async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A database of its own for the modules of one process, on the same server: `store_<module>`. */
async function ownDatabase(serverUrl: string, modules: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const module of modules.split(',')) {
    const name = `store_${module}`;
    await ensureDatabase(serverUrl, name);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    env[`${module.toUpperCase()}_DATABASE_URL`] = url.toString();
  }
  return env;
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  // The topology decides these per process; inherited values would override the plan.
  const omit = new Set(['MODULES', 'GATEWAY', 'PORT', 'DATABASE_URL']);
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && !omit.has(entry[0]) && !entry[0].endsWith('_DATABASE_URL')),
  );
}
