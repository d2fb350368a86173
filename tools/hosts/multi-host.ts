import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { planTopology, type ProcessPlan } from '../topology/topologies.js';
import { HostNetwork, hostNetworkUnavailable, partitionUnavailable } from './host-network.js';
import { type ExtraNatsUser, REPO_ROOT, built, renderKubernetes, type RenderedKubernetes } from './kubernetes-env.js';
import { LinkProxy } from './link-proxy.js';

/** Where the harness looks for PostgreSQL's server programs (Debian's layout), unless PG_BIN_DIR says. */
const PG_BIN_DIRS = [process.env.PG_BIN_DIR, '/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

/** The host names the manifests use, and the one the harness's operator picks for the database server. */
export const DATABASE_HOST_NAME = 'postgres.db.internal';

export interface MultiHostOptions {
  /** A topology of topology.md (monolith, inventory-extracted, microservices, …). */
  readonly topology: string;
  /** One-way delay added on every link between hosts, in ms (a datacenter: 0.5). */
  readonly delayMs: number;
  /** Replicas per process (by plan name, e.g. `{ inventory: 2 }`); one each otherwise. */
  readonly replicas?: Readonly<Record<string, number>>;
  /** CPU per host in cores (by host name, or `*` for every store host); unbounded otherwise. */
  readonly cpu?: Readonly<Record<string, number>>;
  /** Every output line of every process (prefixed by its host); a log file per run otherwise only. */
  readonly onLine?: (host: string, line: string) => void;
  /** Whether Ctrl-C / SIGTERM remove the hosts and exit (default); false when the caller cleans up on signals itself. */
  readonly handleSignals?: boolean;
  /** Variables over the manifests' (a test's shorter deadlines): said in the report, never silent. */
  readonly envOverrides?: Readonly<Record<string, string>>;
  /**
   * The carrier's webhook secret the rendered Secret holds (its key, CARRIER_WEBHOOK_SECRET, reaches the
   * Shipping hosts only, as on a cluster): a caller that signs carrier events must know it; random otherwise.
   */
  readonly carrierSecret?: string;
}

export interface StoreHost {
  readonly host: string;
  readonly plan: ProcessPlan;
  /** The environment it was started with: the manifest's container's (see processEnvironment). */
  readonly env: Readonly<Record<string, string>>;
  /** The address on the network of hosts (its port is the manifests' 3000). */
  readonly address: string;
  child?: ChildProcess;
}

interface Running {
  readonly host: string;
  readonly what: string;
  readonly child: ChildProcess;
}

/**
 * A topology on hosts of its own (issue 26, item 4): each store process, the PostgreSQL server,
 * each node of the NATS cluster and the provisioning Job on a network namespace of its own
 * (host-network.ts), linked through one bridge, each link delayed `delayMs` each way by a proxy
 * at the server's end (link-proxy.ts: PostgreSQL, NATS, and the client's link to the gateway).
 * Each store process runs with the environment the Kubernetes files give its container
 * (kubernetes-env.ts); host names resolve per host (/etc/netns/<ns>/hosts) to the hosts serving them.
 */
export class MultiHost {
  readonly stores: StoreHost[] = [];
  private readonly running: Running[] = [];
  private readonly proxies: LinkProxy[] = [];
  private clientProxy: LinkProxy | undefined;
  private stopped = false;
  private removed = false;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.removeNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  private readonly onExit = () => this.removeNow();

  private constructor(
    readonly options: MultiHostOptions,
    readonly network: HostNetwork,
    /** The run's folder: data directories, configuration, one log file per host. */
    readonly dir: string,
    readonly rendered: RenderedKubernetes,
    readonly adminPassword: string,
  ) {}

  /** The public API as a client outside the cluster reaches it: through its delayed link to the gateway. */
  get gatewayUrl(): string {
    return `http://127.0.0.1:${this.clientProxy!.port}`;
  }

  /** The admin URL from the harness (the client's side of the bridge): for invariants and final states. */
  get adminUrl(): string {
    return `postgres://postgres:${this.adminPassword}@${this.network.host('postgres').address}:5432/store`;
  }

  /** The PostgreSQL server's postmaster (its backends are its children): for CPU sampling. */
  get postgresPid(): number | undefined {
    return this.running.find((running) => running.what === 'postgres')?.child.pid;
  }

  /** The NATS servers' pids, by host. */
  get natsPids(): Array<{ host: string; pid: number | undefined }> {
    return this.running.filter((running) => running.what === 'nats-server').map((running) => ({ host: running.host, pid: running.child.pid }));
  }

  /** A store host's own URL (probes, /metrics): direct, as a kubelet on its node reaches it. */
  urlOf(host: string): string {
    return `http://${this.network.host(host).address}:3000`;
  }

  static async start(options: MultiHostOptions): Promise<MultiHost> {
    const modules = discoveredModuleNames();
    const plans = expandReplicas(planTopology(options.topology, modules), options.replicas ?? {});
    const extraUsers = extraUsersOf(plans, modules);
    const adminPassword = randomBytes(12).toString('hex');
    const rendered = renderKubernetes({
      modules,
      adminUrl: `postgres://postgres:${adminPassword}@${DATABASE_HOST_NAME}:5432/store`,
      roleSecret: randomBytes(16).toString('hex'),
      carrierSecret: options.carrierSecret ?? randomBytes(16).toString('hex'),
      extraUsers,
    });
    const network = HostNetwork.create();
    const dir = mkdtempSync(join('/var/tmp', `mf-hosts-${network.prefix}-`));
    chmodSync(dir, 0o755);
    const harness = new MultiHost(options, network, dir, rendered, adminPassword);
    if (options.handleSignals !== false) process.once('SIGINT', harness.onSignal).once('SIGTERM', harness.onSignal);
    process.once('exit', harness.onExit);
    try {
      await harness.bringUp(plans, modules, extraUsers);
    } catch (error) {
      await harness.stop();
      throw error;
    }
    return harness;
  }

  private async bringUp(plans: readonly ProcessPlan[], modules: readonly string[], extraUsers: readonly ExtraNatsUser[]): Promise<void> {
    const { network, rendered } = this;
    const started = performance.now();
    const phase = (what: string) => this.log('harness', `${what} after ${Math.round(performance.now() - started)} ms`);
    const natsNodes = Array.from({ length: rendered.nats.replicas }, (_, i) => `nats-${i}`);
    for (const name of ['postgres', ...natsNodes, 'provision']) network.addHost(name);
    for (const plan of plans) {
      const host = hostNameOf(plan);
      network.addHost(host);
      const env = processEnvironment(plan, rendered, modules, extraUsers, this.options.envOverrides ?? {});
      this.stores.push({ host, plan, env, address: network.host(host).address });
    }
    network.writeResolver({
      [DATABASE_HOST_NAME]: 'postgres',
      nats: 'nats-0',
      ...Object.fromEntries(natsNodes.map((node) => [`${node}.nats-headless`, node])),
    });
    for (const [host, cores] of Object.entries(this.options.cpu ?? {})) {
      const targets = host === '*' ? this.stores.map((store) => store.host) : [host];
      for (const target of targets) {
        if (!network.boundCpu(target, cores)) this.log('harness', `cannot bound ${target}'s CPU here: it runs unbounded`);
      }
    }
    phase('hosts made');
    await Promise.all([this.startPostgres(), ...natsNodes.map((node) => this.startNats(node))]);
    phase('PostgreSQL and NATS servers up');
    await this.waitForNatsCluster(natsNodes);
    phase('NATS cluster ready');
    await this.runProvisioning();
    phase('provisioned');
    // Module services first (a process hosting a caller is ready once it can do its own work), then gateways.
    const isGateway = (store: StoreHost) => store.env.GATEWAY !== 'off';
    await Promise.all(this.stores.filter((store) => !isGateway(store)).map((store) => this.startStore(store.host)));
    phase('module services ready');
    for (const store of this.stores.filter(isGateway)) await this.startStore(store.host);
    phase('gateway ready');
    const gateway = this.stores.find(isGateway)!;
    this.clientProxy = await LinkProxy.start({
      listen: { host: '127.0.0.1', port: 0 },
      target: { host: gateway.address, port: 3000 },
      delayMs: this.options.delayMs,
    });
  }

  /** Starts (or restarts) one store process on its host and waits until its /health/ready answers 200. */
  async startStore(host: string, timeoutMs = 90_000): Promise<void> {
    const store = this.stores.find((each) => each.host === host);
    if (!store) throw new Error(`no store host '${host}'`);
    // The image's CMD (Dockerfile), from the image's WORKDIR: here the checkout, whose dist/ is the build.
    const child = this.spawnOn(host, 'store', process.execPath, ['--enable-source-maps', built('src/main.js')], {
      ...store.env,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOSTNAME: host,
    });
    store.child = child;
    await waitUntil(
      `${host} /health/ready`,
      timeoutMs,
      child,
      async () => (await fetch(`${this.urlOf(host)}/health/ready`).catch(() => undefined))?.status === 200,
    );
  }

  /** Stops one store process: SIGTERM (graceful, as a rolling update) or SIGKILL (a crash). */
  async stopStore(host: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const store = this.stores.find((each) => each.host === host);
    if (store?.child) await stopChild(store.child, signal);
    if (store) store.child = undefined;
  }

  /** Cuts a host off (nftables drop rules, both ways) until `heal`. */
  partition(host: string): void {
    this.network.partition(host);
    this.log('harness', `partitioned ${host}`);
  }

  heal(host: string): void {
    this.network.heal(host);
    this.log('harness', `healed ${host}`);
  }

  /** Stops everything, gateways first, then removes the hosts. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.off('SIGINT', this.onSignal).off('SIGTERM', this.onSignal).off('exit', this.onExit);
    try {
      // Gateways first (no new work), then the module services together, then the servers together.
      const gateways = this.stores.filter((store) => store.env.GATEWAY !== 'off');
      for (const store of gateways) if (store.child) await stopChild(store.child, 'SIGTERM').catch(() => {});
      await Promise.all(
        this.stores.filter((store) => store.child && !gateways.includes(store)).map((store) => stopChild(store.child!, 'SIGTERM').catch(() => {})),
      );
      await this.clientProxy?.stop().catch(() => {});
      // PostgreSQL: SIGINT is its fast shutdown (SIGTERM waits for every session to end).
      await Promise.all(this.running.map((running) => stopChild(running.child, running.what === 'postgres' ? 'SIGINT' : 'SIGTERM').catch(() => {})));
    } finally {
      this.removeNow();
    }
  }

  /** Removes the hosts (every process still in them is killed with them) and the run's folder; on a signal or exit too. */
  private removeNow(): void {
    if (this.removed) return;
    this.removed = true;
    this.stopped = true;
    this.network.remove();
    if (!process.env.MF_HOSTS_KEEP_DIR) rmSync(this.dir, { recursive: true, force: true });
  }

  private log(host: string, line: string): void {
    appendFileSync(join(this.dir, `${host}.log`), `${line}\n`);
    this.options.onLine?.(host, line);
  }

  private spawnOn(
    host: string,
    what: string,
    command: string,
    args: readonly string[],
    env: Record<string, string>,
    uid?: { uid: number; gid: number },
  ): ChildProcess {
    const userArgs = uid ? ['setpriv', `--reuid=${uid.uid}`, `--regid=${uid.gid}`, '--init-groups'] : [];
    const argv = this.network.commandOn(host, userArgs[0] ?? command, [...userArgs.slice(1), ...(uid ? [command] : []), ...args]);
    const child = spawn(argv.command, argv.args, { env, cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      this.network.enterCgroup(host, child.pid);
    } catch (error) {
      this.log(host, `[harness] could not bound its CPU: ${(error as Error).message}`);
    }
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => this.log(host, line));
    child.on('exit', (code, signal) => this.log(host, `[harness] ${what} exited (${signal ?? code})`));
    if (what !== 'store') this.running.push({ host, what, child });
    return child;
  }

  /** A private PostgreSQL cluster (initdb as user postgres) on its host, behind the host's delaying link end. */
  private async startPostgres(): Promise<void> {
    const bin = PG_BIN_DIRS.find((dir) => dir && existsSync(join(dir, 'initdb')));
    if (!bin) throw new Error('PostgreSQL server programs not found (apt-get install postgresql, or set PG_BIN_DIR)');
    const owner = userIds('postgres');
    const data = join(this.dir, 'postgres');
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, owner.uid, owner.gid);
    const passwordFile = join(this.dir, 'postgres-password');
    writeFileSync(passwordFile, `${this.adminPassword}\n`);
    chownSync(passwordFile, owner.uid, owner.gid);
    const initdb = spawnSync(
      'setpriv',
      [
        `--reuid=${owner.uid}`,
        `--regid=${owner.gid}`,
        '--init-groups',
        join(bin, 'initdb'),
        '-D',
        data,
        '-U',
        'postgres',
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        `--pwfile=${passwordFile}`,
        '-E',
        'UTF8',
        '--no-sync',
      ],
      { encoding: 'utf8' },
    );
    rmSync(passwordFile);
    if (initdb.status !== 0) throw new Error(`initdb: ${initdb.stderr.trim().split('\n').at(-1)}`);
    // On the host's loopback only: every connection from another host comes through the link end.
    const server = this.spawnOn(
      'postgres',
      'postgres',
      join(bin, 'postgres'),
      ['-D', data, '-c', 'listen_addresses=127.0.0.1', '-p', '5432', '-k', data, '-c', 'max_connections=200'],
      { PATH: process.env.PATH ?? '' },
      owner,
    );
    await waitUntil(
      'postgres',
      30_000,
      server,
      () =>
        spawnSync('ip', ['netns', 'exec', this.network.host('postgres').namespace, join(bin, 'pg_isready'), '-q', '-h', '127.0.0.1', '-p', '5432']).status ===
        0,
    );
    await this.startLinkEnd('postgres', 5432);
    const admin = new pg.Client({ connectionString: this.adminUrl.replace(/\/store$/, '/postgres') });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE store');
    } finally {
      await admin.end();
    }
  }

  /** One node of the NATS cluster: the manifests' nats.conf and users file, paths mapped to the run's folder. */
  private async startNats(node: string): Promise<void> {
    const binary = [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'].find(
      (file) => file && existsSync(file),
    );
    if (!binary) throw new Error('nats-server not found (apt-get install nats-server, or set NATS_SERVER_BIN)');
    const root = join(this.dir, node);
    for (const sub of ['config', 'auth', 'data', 'run']) mkdirSync(join(root, sub), { recursive: true });
    // The container's mounts (/data, /var/run/nats) are folders of the run here; the rest is the ConfigMap as rendered.
    const config = this.rendered.nats.config
      .replaceAll('store_dir: /data', `store_dir: ${join(root, 'data')}`)
      .replaceAll('/var/run/nats/', `${join(root, 'run')}/`);
    writeFileSync(join(root, 'config/nats.conf'), config);
    writeFileSync(join(root, 'auth/nats-auth.conf'), this.rendered.nats.auth, { mode: 0o600 });
    // Clients on the host's loopback (behind the link end); the cluster's routes on the host's address.
    const child = this.spawnOn(node, 'nats-server', binary, ['--config', join(root, 'config/nats.conf'), '-a', '127.0.0.1'], {
      SERVER_NAME: node,
      PATH: process.env.PATH ?? '',
    });
    // The monitor listens where the clients do (the host's loopback): probed from the host, as a kubelet's exec probe would.
    await waitUntil(node, 30_000, child, () => this.okOn(node, 'http://127.0.0.1:8222/healthz?js-server-only=true'));
    await this.startLinkEnd(node, 4222);
  }

  /** The cluster is ready once every node answers the startup probe (JetStream enabled, meta leader known). */
  private async waitForNatsCluster(nodes: readonly string[]): Promise<void> {
    for (const node of nodes) {
      const child = this.running.find((running) => running.host === node && running.what === 'nats-server')!.child;
      await waitUntil(`${node} JetStream`, 60_000, child, () => this.okOn(node, 'http://127.0.0.1:8222/healthz'));
    }
  }

  /** Whether `url` answers 200 from inside the host (a short-lived probe process in its namespace). */
  private okOn(host: string, url: string): Promise<boolean> {
    const argv = this.network.commandOn(host, process.execPath, [
      '-e',
      `fetch(${JSON.stringify(url)}).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))`,
    ]);
    return new Promise((resolve) => spawn(argv.command, argv.args, { stdio: 'ignore' }).once('exit', (code) => resolve(code === 0)));
  }

  /** The provisioning Job: its command and environment as rendered, on a host of its own; must exit 0. */
  private async runProvisioning(): Promise<void> {
    const [command, ...args] = this.rendered.provision.command;
    const program = command === 'node' ? process.execPath : command;
    const scriptArgs = args.map((arg) => (arg.startsWith('dist/') ? built(arg.slice('dist/'.length)) : arg));
    const child = this.spawnOn('provision', 'provision', program, scriptArgs, { ...this.rendered.provision.env, PATH: process.env.PATH ?? '' });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exit) => resolve(exit)));
    if (code !== 0) throw new Error(`the provisioning Job failed (exit ${code}): see ${join(this.dir, 'provision.log')}`);
  }

  /** The delaying end of the host's links: its address:port to the server on its loopback. */
  private async startLinkEnd(host: string, port: number): Promise<void> {
    const address = this.network.host(host).address;
    const child = this.spawnOn(
      host,
      `link end :${port}`,
      process.execPath,
      [built('tools/hosts/link-proxy.cli.js'), `${address}:${port}`, `127.0.0.1:${port}`, String(this.options.delayMs)],
      { PATH: process.env.PATH ?? '' },
    );
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => line === 'ready' && resolve());
      child.once('exit', (code) => reject(new Error(`link end on ${host}:${port} exited (${code})`)));
    });
  }
}

/**
 * What a store process is given: in the microservices topology (what deploy/k8s describes: a
 * Deployment per module and a gateway), exactly its Deployment's container environment. A process
 * hosting several modules (monolith, an extracted module's rest) has no manifest of its own: it
 * gets what the Deployments of the modules it hosts give (the image's ENV, the store-config
 * ConfigMap, each hosted module's Secret: its role's URL, its own variables), a NATS user for its
 * process kind made by `nats-auth --user` (ADR 21), and MODULES/GATEWAY/PORT of its plan.
 */
export function processEnvironment(
  plan: ProcessPlan,
  rendered: RenderedKubernetes,
  modules: readonly string[],
  extraUsers: readonly ExtraNatsUser[],
  overrides: Readonly<Record<string, string>>,
): Record<string, string> {
  const hosted = plan.env.MODULES === undefined ? [...modules] : plan.env.MODULES.split(',').filter(Boolean);
  const single =
    hosted.length === 1 && plan.env.GATEWAY === 'off' ? rendered.stores.get(hosted[0]) : hosted.length === 0 ? rendered.stores.get('gateway') : undefined;
  if (single) return { ...single.env, ...overrides };
  const user = extraUsers.find((each) => each.user === userNameOf(plan))!;
  return {
    ...rendered.imageEnv,
    ...rendered.storeConfig,
    ...(Object.assign({}, ...hosted.map((module) => rendered.moduleSecrets.get(module) ?? {})) as Record<string, string>),
    ...rendered.extraUsers.get(user.user),
    MODULES: hosted.join(','),
    GATEWAY: plan.env.GATEWAY,
    PORT: '3000',
    ...overrides,
  };
}

function discoveredModuleNames(): string[] {
  const listed = spawnSync('ls', [join(REPO_ROOT, 'src/modules')], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);
  return listed.filter((name) => existsSync(join(REPO_ROOT, 'src/modules', name, `${name}.module.ts`))).sort();
}

/** `inventory` ×2 → `inventory`, `inventory-2` (the same variables: topology.md's replicas). */
function expandReplicas(plans: readonly ProcessPlan[], replicas: Readonly<Record<string, number>>): ProcessPlan[] {
  for (const name of Object.keys(replicas)) {
    if (!plans.some((plan) => plan.name === name))
      throw new Error(`--replicas: no process '${name}' in this topology (${plans.map((plan) => plan.name).join(', ')})`);
  }
  return plans.flatMap((plan) => Array.from({ length: replicas[plan.name] ?? 1 }, (_, i) => (i === 0 ? plan : { ...plan, name: `${plan.name}#${i + 1}` })));
}

/** A host per process: its plan's name where it is one word (inventory, gateway, monolith), else `store`. */
function hostNameOf(plan: ProcessPlan): string {
  const [base, replica] = plan.name.split('#');
  const name = /^[a-z0-9-]{1,14}$/.test(base) ? base : 'store';
  return replica ? `${name}-${replica}` : name;
}

function userNameOf(plan: ProcessPlan): string {
  return hostNameOf({ ...plan, name: plan.name.split('#')[0] });
}

/** NATS users for the process kinds the manifests lack (several modules in one process). */
function extraUsersOf(plans: readonly ProcessPlan[], modules: readonly string[]): ExtraNatsUser[] {
  const users = new Map<string, ExtraNatsUser>();
  for (const plan of plans) {
    const hosted = plan.env.MODULES === undefined ? [...modules] : plan.env.MODULES.split(',').filter(Boolean);
    if (hosted.length === 1 && plan.env.GATEWAY === 'off') continue;
    if (hosted.length === 0) continue;
    users.set(userNameOf(plan), { user: userNameOf(plan), modules: hosted, gateway: plan.env.GATEWAY !== 'off' });
  }
  return [...users.values()];
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || spawnSync('id', ['-u', name]).status !== 0) throw new Error(`no user '${name}' on this machine`);
  return { uid, gid };
}

async function waitUntil(what: string, timeoutMs: number, child: ChildProcess, ready: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = String(signal ?? code)));
  for (;;) {
    if (exited !== undefined) throw new Error(`${what}: exited (${exited}) before it was ready`);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Why the harness cannot run here (each thing it needs, named), or undefined when it can. */
export function multiHostUnavailable(): string | undefined {
  const network = hostNetworkUnavailable();
  if (network) return network;
  const missing = [
    partitionUnavailable(),
    spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).error
      ? 'kubectl is not installed (the manifests are rendered by `kubectl kustomize`)'
      : undefined,
    [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'].some((file) => file && existsSync(file))
      ? undefined
      : 'nats-server is not installed',
    PG_BIN_DIRS.some((dir) => dir && existsSync(join(dir, 'initdb'))) ? undefined : 'PostgreSQL server programs (initdb, postgres) are not installed',
    spawnSync('setpriv', ['--version']).error ? 'setpriv (util-linux) is not installed' : undefined,
  ].filter(Boolean);
  return missing.length > 0 ? missing.join('; ') : undefined;
}
