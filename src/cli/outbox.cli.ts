import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfig } from '../platform/config/app-config.js';
import { ModuleDatabases } from '../platform/application/module-databases.js';
import { discoverModules } from '../platform/modules/module-discovery.js';
import { ModuleOperations } from '../platform/operations/module-operations.js';
import { runCli, UsageError, wantsHelp } from './run-cli.js';
import { loadEnvFile } from '../platform/config/env-file.js';

const USAGE = `usage: npm run outbox -- <command> <module> [event-id]

  stats <module>               pending deliveries, age of the oldest, dead letters
  dead-letters <module>        list dead-lettered deliveries (the newest 100)
  replay <module> [event-id]   put dead letters (all, or one event's) back in line

The database is found as \`npm start\` finds it (DATABASE_URL, <MODULE>_DATABASE_URL, or the embedded one).`;

/** Operators' view of a module's outbox: what is stuck, and putting it back in line. */
async function main(argv: readonly string[]): Promise<void> {
  loadEnvFile(); // .env in the working directory, under the real environment
  if (wantsHelp(argv)) {
    console.log(USAGE);
    return;
  }
  const option = argv.find((arg) => arg.startsWith('-'));
  if (option !== undefined) throw new UsageError(`unknown option '${option}' (see --help)`);
  const [command, module, eventId, extra] = argv;
  if (!command) throw new UsageError('a command is needed: stats, dead-letters or replay (see --help)');
  if (!['stats', 'dead-letters', 'replay'].includes(command)) throw new UsageError(`unknown command '${command}' (see --help)`);
  const modules = await discoverModules();
  const names = modules.map((m) => m.definition.name);
  if (!module || !names.includes(module)) {
    throw new UsageError(`name a module: one of ${names.join(', ')}`);
  }
  if (extra !== undefined || (eventId !== undefined && command !== 'replay')) throw new UsageError(`unexpected argument '${extra ?? eventId}' (see --help)`);
  if (eventId !== undefined && !/^[0-9a-f-]{36}$/i.test(eventId)) throw new UsageError(`'${eventId}' is not an event id`);
  Logger.overrideLogger(['error']);
  const config = loadConfig({ ...process.env, MODULES: module }, names);
  // An operator's command answers at once: no waiting for a database that is away (the store's start-up does).
  const databases = await ModuleDatabases.open(
    { ...config, databaseStartupWaitMs: 0 },
    modules.filter((m) => m.definition.name === module),
  );
  try {
    // The same reads and actions as the console's (one implementation, src/platform/operations).
    const operations = new ModuleOperations(databases.get(module), module);
    if (command === 'stats') {
      const stats = await operations.outboxStats();
      console.log(`${module}: ${stats.pending} pending (oldest ${stats.oldestPendingAgeMs} ms), ${stats.dead} dead`);
    } else if (command === 'dead-letters') {
      const letters = await operations.deadLetters();
      if (letters.length === 0) console.log(`${module}: no dead letters`);
      for (const letter of letters) {
        console.log(
          `${letter.eventId}  ${letter.name}  aggregate=${letter.aggregateId}  subscriber=${letter.subscriber}  attempts=${letter.attempts}  ${letter.occurredAt}\n    ${letter.lastError ?? ''}`,
        );
      }
    } else {
      // Relays pick these up at once: the replay NOTIFYs them.
      const replayed = await operations.replay(eventId);
      console.log(`${module}: ${replayed} dead letter(s) put back in line`);
    }
  } finally {
    await databases.close();
  }
}

runCli('outbox', main);
