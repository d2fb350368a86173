import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import pg from 'pg';
import { startStoreApplication } from '../../src/platform/application/store-application.js';
import { loadConfig } from '../../src/platform/config/app-config.js';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { faults } from '../../test/fixtures/messaging/src/modules/audit/faults.js';

/**
 * The subscriber side of bench/events.bench.ts, in a process of its own
 * (forked, reporting over IPC with wall-clock times both processes share):
 * - `store`: the fixture's audit module as a store process (MODULES=audit);
 * - `bare`: a bare JetStream consumer of the same payloads, the baseline;
 * - `floor`: the same consumer, but each message opens a transaction and
 *   records its id in an inbox table before the "handler" (and commits before
 *   the ack): the least any transactional inbox does.
 * It sends `{ ready }`, then `{ at }` per event in `latency` mode, or
 * `{ handled, at }` every `REPORT_EVERY` events in `drain` mode (and when asked:
 * then `at` is when the last one was handled).
 */
const REPORT_EVERY = 500;
const now = () => performance.timeOrigin + performance.now();
const send = (message: object) => process.send?.(message);

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  const [mode, report] = process.argv.slice(2) as ['store' | 'bare' | 'floor', 'latency' | 'drain'];
  let handled = 0;
  let lastAt = 0;
  const onEvent = () => {
    handled++;
    lastAt = now();
    if (report === 'latency') send({ at: now() });
    else if (handled === 1 || handled % REPORT_EVERY === 0) send({ handled, at: now() });
  };
  let stop: () => Promise<void>;
  if (mode === 'store') {
    const modules = await discoverModules(fileURLToPath(new URL('../../test/fixtures/messaging/src/modules/', import.meta.url)));
    const config = loadConfig(
      { ...process.env, MODULES: 'audit', GATEWAY: 'off', PORT: '0', LOG_LEVEL: 'error' },
      modules.map((m) => m.definition.name),
    );
    faults.onHandle = onEvent;
    const store = await startStoreApplication(config, modules, { defaultMetrics: false });
    stop = () => store.close();
  } else {
    const connection = await connect({ servers: process.env.NATS_URL });
    const consumer = await jetstream(connection).consumers.get(process.env.BARE_STREAM!, 'bare');
    const database = mode === 'floor' ? new pg.Client({ connectionString: process.env.DATABASE_URL }) : undefined;
    await database?.connect();
    // One message at a time, in order, as an inbox takes an aggregate's events.
    let inOrder = Promise.resolve();
    const messages = await consumer.consume({
      max_messages: 256,
      callback: (message) => {
        const event = JSON.parse(message.string()) as { id: string };
        if (!database) {
          onEvent();
          message.ack();
          return;
        }
        inOrder = inOrder.then(async () => {
          await database.query('BEGIN');
          await database.query('INSERT INTO floor_inbox (event_id) VALUES ($1) ON CONFLICT DO NOTHING', [event.id]);
          onEvent();
          await database.query('COMMIT');
          message.ack();
        });
      },
    });
    stop = async () => {
      await messages.close();
      await inOrder.catch(() => {});
      await database?.end();
      await connection.close();
    };
  }
  process.on('message', (message: { stop?: boolean; flush?: boolean }) => {
    if (message.flush) send({ handled, at: lastAt });
    if (message.stop) {
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(`subscriber: stopping: ${(error as Error)?.message ?? String(error)}`);
          process.exit(1);
        },
      );
    }
  });
  send({ ready: true });
}

main().catch((error: unknown) => {
  console.error(`event subscriber: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});
