import 'reflect-metadata';
import { randomInt } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { ExploreEnvironment } from './explore-environment.js';
import { parseOptions, UsageError, USAGE } from './explore-options.js';
import { describeFailure, formatReport, totals } from './explore-report.js';
import { runSchedule, scheduleFor, type ScheduleResult } from './explore-run.js';
import { formatSchedule } from './explore-schedule.js';

let environment: ExploreEnvironment | undefined;

async function main(argv: readonly string[]): Promise<number> {
  Logger.overrideLogger(['error', 'warn']);
  const modules = (await discoverModules()).map((module) => module.definition.name);
  const options = parseOptions(argv, modules);
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const settings = {
    modules,
    loadMs: options.loadMs,
    quietTimeoutMs: options.settleMs,
    plant: options.plant,
    log: (text: string) => console.log(text),
    onProcessLine: options.verbose ? (name: string, line: string) => console.log(`    ${name}| ${line}`) : undefined,
  };
  if (options.print) {
    for (const seed of options.seeds ?? []) for (const topology of options.topologies) console.log(formatSchedule(scheduleFor(seed, topology, settings)));
    return 0;
  }
  const started = performance.now();
  environment = await ExploreEnvironment.start();
  console.log(`private PostgreSQL on port ${environment.postgresPort}, private nats-server on port ${environment.nats.port}`);
  const results: ScheduleResult[] = [];
  const runOne = async (seed: number, topology: string) => {
    const schedule = scheduleFor(seed, topology, settings);
    console.log(`\n${formatSchedule(schedule)}`);
    const result = await runSchedule(schedule, environment!, settings);
    results.push(result);
    const passed = result.checks.filter((c) => c.violations.length === 0).length;
    console.log(result.ok ? `  ok: ${passed} invariant checks held` : describeFailure(result));
  };
  try {
    if (options.soakMs !== undefined) {
      // Random seeds, printed each, cycling over the topologies until the time is up.
      for (let i = 0; performance.now() - started < options.soakMs; i++) await runOne(randomInt(0, 2 ** 31), options.topologies[i % options.topologies.length]);
    } else {
      for (const seed of options.seeds!) for (const topology of options.topologies) await runOne(seed, topology);
    }
  } finally {
    await environment.stop();
    environment = undefined;
  }
  const summary = totals(results);
  console.log(`\n${formatReport(summary, performance.now() - started)}`);
  for (const failure of summary.failures) console.log(`\n${describeFailure(failure)}`);
  return summary.failures.length > 0 ? 1 : 0;
}

// Ctrl-C: stop the private servers (the topology's processes are this process's children and get the signal too).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(signal);
  process.once(signal, () => {
    (environment?.stop() ?? Promise.resolve()).then(
      () => process.exit(130),
      (error: unknown) => {
        console.error(`explore: stopping the private servers: ${(error as Error)?.message ?? String(error)}`);
        process.exit(130);
      },
    );
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof UsageError;
    console.error(`explore: ${((error as Error)?.message ?? String(error)).split('\n')[0]}`);
    process.exit(usage ? 2 : 1);
  },
);
