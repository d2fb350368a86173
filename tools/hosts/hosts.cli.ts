import { cpuBounding, hostNetworkUnavailable } from './host-network.js';
import { MultiHost } from './multi-host.js';

const USAGE = `usage: npm run hosts -- [--topology microservices] [--delay-ms 0.5] [--replicas NAME=N]... [--cpu HOST=CORES]... [--verbose]

Brings a topology up with each process on a host of its own (a Linux network namespace on one
bridge), PostgreSQL and each NATS node on hosts of their own, every store process with the
environment deploy/k8s gives its container, and every link delayed --delay-ms each way. Prints
the hosts and the gateway's URL, then waits: Ctrl-C stops everything and removes the hosts.
Needs root, iproute2, kubectl, nats-server and PostgreSQL's server programs.

--topology  monolith, inventory-extracted, microservices, <module>-extracted
--delay-ms  one-way delay per link (default 0.5: a datacenter); 0: no proxy delay
--replicas  more processes of one (e.g. inventory=2)
--cpu       CPU of a host in cores (cgroup quota; HOST '*' = every store host)`;

function fail(message: string): never {
  console.error(`hosts: ${message}`);
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
let topology = 'microservices';
let delayMs = 0.5;
let verbose = false;
const replicas: Record<string, number> = {};
const cpu: Record<string, number> = {};
for (let i = 0; i < argv.length; i++) {
  const value = argv[i + 1];
  const pair = (what: string) => {
    const match = /^([a-z0-9*-]+)=([0-9.]+)$/.exec(value ?? '');
    if (!match) fail(`${what}: expected NAME=NUMBER, got '${value ?? ''}'`);
    i++;
    return [match[1], Number(match[2])] as const;
  };
  if (argv[i] === '--topology' && value) topology = argv[++i];
  else if (argv[i] === '--delay-ms' && value) {
    delayMs = Number(argv[++i]);
    if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > 1000) fail(`--delay-ms: expected 0-1000, got '${value}'`);
  } else if (argv[i] === '--replicas') {
    const [name, n] = pair('--replicas');
    if (!Number.isInteger(n) || n < 1 || n > 8) fail(`--replicas ${name}: expected 1-8`);
    replicas[name] = n;
  } else if (argv[i] === '--cpu') {
    const [name, cores] = pair('--cpu');
    if (!(cores > 0)) fail(`--cpu ${name}: expected cores > 0`);
    cpu[name] = cores;
  } else if (argv[i] === '--verbose') verbose = true;
  else fail(`unknown or incomplete argument '${argv[i]}' (see --help)`);
}
const unavailable = hostNetworkUnavailable();
if (unavailable) fail(`cannot make hosts here: ${unavailable}`);
const bounding = cpuBounding();
if (Object.keys(cpu).length > 0 && bounding.kind === 'none') console.error(`hosts: CPU cannot be bounded here (${bounding.why}): hosts run unbounded`);

console.error(`hosts: bringing ${topology} up on hosts of its own (links delayed ${delayMs} ms each way)…`);
const harness = await MultiHost.start({
  topology,
  delayMs,
  replicas,
  cpu,
  onLine: verbose ? (host, line) => console.error(`[${host}] ${line}`) : undefined,
}).catch((error: Error) => fail(error.message.split('\n')[0]));
console.log(`network ${harness.network.prefix}: bridge ${harness.network.bridge}, the harness at ${harness.network.clientAddress}`);
for (const host of harness.network.allHosts) {
  const store = harness.stores.find((each) => each.host === host.name);
  const what = store ? `MODULES=${store.env.MODULES} GATEWAY=${store.env.GATEWAY}` : host.name.startsWith('nats') ? 'NATS (JetStream cluster node)' : host.name;
  console.log(`  ${host.name.padEnd(14)} ${host.address.padEnd(16)} ${what}${host.cgroup ? ` (CPU bounded: ${host.cgroup})` : ''}`);
}
console.log(`gateway (through its delayed link): ${harness.gatewayUrl}`);
console.log(`admin URL (for inspection): ${harness.adminUrl}`);
console.log(`logs: ${harness.dir}/<host>.log — Ctrl-C stops everything`);
const stop = () => {
  harness.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`hosts: stopping: ${(error as Error)?.message ?? String(error)}`);
      process.exit(1);
    },
  );
};
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.once('SIGINT', stop).once('SIGTERM', stop);
