import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { loadConfig } from '../platform/config/app-config.js';
import { ConfigurationError } from '../platform/config/configuration.error.js';
import { ModuleDatabases } from '../platform/application/module-databases.js';
import { discoverModules } from '../platform/modules/module-discovery.js';
import { ModuleOperations } from '../platform/operations/module-operations.js';
import { runCli, UsageError, wantsHelp } from './run-cli.js';
import { loadEnvFile } from '../platform/config/env-file.js';

const USAGE = `usage: npm run sagas -- <command> [arguments] [--module <module>]

  list                          sagas not ended, by saga, version, state and step; a waiting one
                                with the signals it awaits and until when (at most 100 per module)
  stuck                         list STUCK sagas (a step that kept failing, parked for an operator), oldest first
  retry <key>                   run the STUCK saga(s) of this key (an order id, say) again now, attempts reset
  signal <saga> <key> <signal> [<id>]
                                record a signal for a saga (as an event would): a wait for it ends;
                                the same id twice counts once (default: a new id)
  cancel <key> [<saga>]         the saga(s) of this key give up and undo what they did (CANCELLED_BY_OPERATOR)

Every module's schema is looked at unless --module names one (signal needs it when
several modules have the saga). The database is found as \`npm start\` finds it
(DATABASE_URL, <MODULE>_DATABASE_URL, or the embedded one).`;

const ARITY: Record<string, [number, number]> = { list: [0, 0], stuck: [0, 0], retry: [1, 1], signal: [3, 4], cancel: [1, 2] };

/** Operators' view of the sagas: where each stands, and putting one back in line, signalling or cancelling it. */
async function main(argv: readonly string[]): Promise<void> {
  loadEnvFile(); // .env in the working directory, under the real environment
  if (wantsHelp(argv)) {
    console.log(USAGE);
    return;
  }
  const args = [...argv];
  const flag = args.indexOf('--module');
  const only = flag >= 0 ? args.splice(flag, 2)[1] : undefined;
  if (flag >= 0 && !only) throw new UsageError('--module needs a module name (see --help)');
  const [command, ...rest] = args;
  if (!command) throw new UsageError(`a command is needed: ${Object.keys(ARITY).join(', ')} (see --help)`);
  const arity = ARITY[command];
  if (!arity) throw new UsageError(`unknown command '${command}' (see --help)`);
  const option = rest.find((arg) => arg.startsWith('-'));
  if (option !== undefined) throw new UsageError(`unknown option '${option}' (see --help)`);
  if (rest.length < arity[0]) throw new UsageError(`${command} needs ${arity[0]} argument(s) (see --help)`);
  if (rest.length > arity[1]) throw new UsageError(`unexpected argument '${rest[arity[1]]}' (see --help)`);
  if (rest.some((arg) => arg.length === 0 || arg.length > 200)) throw new UsageError('arguments are 1 to 200 characters');
  const modules = await discoverModules();
  const names = modules.map((m) => m.definition.name);
  if (only !== undefined && !names.includes(only)) throw new UsageError(`--module: one of ${names.join(', ')}`);
  const chosen = modules.filter((m) => only === undefined || m.definition.name === only);
  Logger.overrideLogger(['error']);
  const config = loadConfig({ ...process.env, MODULES: chosen.map((m) => m.definition.name).join(',') }, names);
  // An operator's command answers at once: no waiting for a database that is away (the store's start-up does).
  const databases = await ModuleDatabases.open({ ...config, databaseStartupWaitMs: 0 }, chosen);
  try {
    let found = 0;
    for (const { definition } of chosen) {
      // The same reads and actions as the console's (one implementation, src/platform/operations).
      const operations = new ModuleOperations(databases.get(definition.name), definition.name);
      if (command === 'list') {
        for (const saga of await operations.listSagas()) {
          found++;
          const waits = saga.awaiting
            ? `  waits for ${saga.awaiting.length ? saga.awaiting.join(' | ') : 'time (sleep)'} until ${saga.until?.toISOString() ?? '?'}`
            : '';
          const cancel = saga.cancelReason ? `  cancel asked (${saga.cancelReason})` : '';
          console.log(`${definition.name}  ${saga.saga} v${saga.version}  ${saga.status}  at ${saga.step}  ${saga.key}${waits}${cancel}`);
        }
      } else if (command === 'stuck') {
        for (const saga of await operations.stuckSagas()) {
          found++;
          console.log(
            `${definition.name}  ${saga.saga}  ${saga.key}  at ${saga.step}  attempts=${saga.attempts}  since ${saga.since.toISOString()}\n    ${saga.lastError ?? ''}`,
          );
        }
      } else if (command === 'retry') {
        for (const saga of await operations.retry(rest[0])) {
          found++;
          console.log(`${definition.name}: ${saga.saga} saga ${rest[0]} runs again from ${saga.step}`);
        }
      } else if (command === 'cancel') {
        for (const saga of await operations.cancel(rest[0], rest[1])) {
          found++;
          console.log(`${definition.name}: ${saga.saga} saga ${rest[0]} gives up at ${saga.step} and compensates`);
        }
      } else {
        const [saga, key, name, id = randomUUID()] = rest;
        if (only === undefined && !(await operations.hasSaga(saga))) continue;
        found++;
        const fresh = await operations.signal(saga, key, name, id);
        console.log(`${definition.name}: signal ${name} (${id}) for ${saga} saga ${key} ${fresh ? 'recorded' : 'was recorded before: counted once'}`);
      }
    }
    if (found === 0) {
      if (command === 'retry') throw new ConfigurationError(`no STUCK saga has key '${rest[0]}' (see \`npm run sagas -- stuck\`)`);
      if (command === 'cancel') throw new ConfigurationError(`no saga in flight has key '${rest[0]}' (see \`npm run sagas -- list\`)`);
      if (command === 'signal') throw new ConfigurationError(`no module has a '${rest[0]}' saga (name one with --module to record the signal anyway)`);
      console.log(command === 'stuck' ? 'no stuck sagas' : 'no sagas in flight');
    }
  } finally {
    await databases.close();
  }
}

runCli('sagas', main);
