import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfig } from '../platform/config/app-config.js';
import { ConfigurationError } from '../platform/config/configuration.error.js';
import { ModuleDatabases } from '../platform/application/module-databases.js';
import { discoverModules } from '../platform/modules/module-discovery.js';
import { SagaOperations } from '../platform/sagas/saga-store.js';

const USAGE = `usage: npm run sagas -- <command> [key] [--module <module>]

  stuck            list STUCK sagas (a step that kept failing, parked for an operator), oldest first
  retry <key>      run the STUCK saga(s) of this key (an order id, say) again now, attempts reset

Every module's schema is looked at unless --module names one. The database is found as
\`npm start\` finds it (DATABASE_URL, <MODULE>_DATABASE_URL, or the embedded one).`;

/** Operators' view of the sagas: what is stuck, and putting it back in line once the cause is fixed. */
async function main(argv: readonly string[]): Promise<void> {
  const args = [...argv];
  const flag = args.indexOf('--module');
  const only = flag >= 0 ? args.splice(flag, 2)[1] : undefined;
  const [command, key, extra] = args;
  if (!command || command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  if (!['stuck', 'retry'].includes(command)) throw new ConfigurationError(`unknown command '${command}' (see --help)`);
  if (command === 'retry' && !key) throw new ConfigurationError('retry needs the key of a stuck saga (see `npm run sagas -- stuck`)');
  if (extra !== undefined || (command === 'stuck' && key !== undefined)) throw new ConfigurationError(`unexpected argument '${extra ?? key}' (see --help)`);
  const modules = await discoverModules();
  const names = modules.map((m) => m.definition.name);
  if (only !== undefined && !names.includes(only)) throw new ConfigurationError(`--module: one of ${names.join(', ')}`);
  const chosen = modules.filter((m) => only === undefined || m.definition.name === only);
  Logger.overrideLogger(['error']);
  const config = loadConfig({ ...process.env, MODULES: chosen.map((m) => m.definition.name).join(',') }, names);
  const databases = await ModuleDatabases.open(config, chosen);
  try {
    let found = 0;
    for (const { definition } of chosen) {
      const operations = new SagaOperations(databases.get(definition.name), definition.name);
      if (command === 'stuck') {
        for (const saga of await operations.stuck()) {
          found++;
          console.log(`${definition.name}  ${saga.saga}  ${saga.key}  at ${saga.step}  attempts=${saga.attempts}  since ${saga.since.toISOString()}\n    ${saga.lastError ?? ''}`);
        }
      } else {
        for (const saga of await operations.retry(key)) {
          found++;
          console.log(`${definition.name}: ${saga.saga} saga ${key} runs again from ${saga.step}`);
        }
      }
    }
    if (found === 0) {
      if (command === 'retry') throw new ConfigurationError(`no STUCK saga has key '${key}' (see \`npm run sagas -- stuck\`)`);
      console.log('no stuck sagas');
    }
  } finally {
    await databases.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`sagas: ${((error as Error)?.message ?? String(error)).split('\n')[0]}`);
  process.exit(1);
});
