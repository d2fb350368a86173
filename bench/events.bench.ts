import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect, headers } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { startStoreApplication } from '../src/platform/application/store-application.js';
import { loadConfig } from '../src/platform/config/app-config.js';
import type { ContractClient } from '../src/platform/contracts/contract.js';
import { discoverModules } from '../src/platform/modules/module-discovery.js';
import { deleteEventStream } from '../tools/support/event-streams.js';
import { natsReachable } from '../tools/support/network.js';
import { EntryRecorded, LedgerContract } from '../test/fixtures/messaging/src/modules/ledger/ledger.contract.js';
import { benchDatabase } from './support/bench-database.js';
import { mean, option, percentile, printTable } from './support/stats.js';

/**
 * Events between processes on JetStream (ADR 12), each figure beside its
 * baseline from the same run:
 * 1. latency: a publisher's commit → the handler entered in another process,
 *    against a bare JetStream publish → consume of the same payload between
 *    the same two processes, and against the floor of any transactional
 *    outbox + inbox on JetStream: after the publisher's commit, one read of
 *    the committed row, the publish, and in the subscriber a transaction that
 *    records the event id before its handler;
 * 2. a backlog of events waiting in the stream, drained by one subscriber
 *    process, then by two replicas sharing its consumer.
 */
const SEQUENTIAL = option('events', 1000);
const BACKLOG = option('backlog', 20000);
const AGGREGATES = option('aggregates', 2000);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const CHILD = fileURLToPath(new URL('./support/event-subscriber.child.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../test/fixtures/messaging/src/modules/', import.meta.url));

interface Report {
  readonly ready?: boolean;
  readonly at?: number;
  readonly handled?: number;
}

const now = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  if (!(await natsReachable(NATS_URL))) throw new Error(`NATS with JetStream is needed at ${NATS_URL} (nats-server -js)`);
  const database = await benchDatabase('mf_bench_events');
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const env = { ...process.env, DATABASE_URL: database.url, NATS_URL, NATS_SUBJECT_PREFIX: prefix, SERVICE_TOKEN: randomBytes(16).toString('hex') };
  const modules = await discoverModules(FIXTURES);
  const config = loadConfig(
    { ...env, MODULES: 'ledger', GATEWAY: 'off', PORT: '0', LOG_LEVEL: 'error', DB_POOL_SIZE: '10' },
    modules.map((m) => m.definition.name),
  );
  const publisher = await startStoreApplication(config, modules, { defaultMetrics: false });
  const ledger: ContractClient<typeof LedgerContract> = publisher.app.get(LedgerContract.client, { strict: false });
  const children: Subscriber[] = [];
  try {
    const bare = await bareLatency(env, SEQUENTIAL, 'bare');
    const floor = await bareLatency(env, SEQUENTIAL, 'floor');

    const subscriber = await Subscriber.start('store', 'latency', env);
    children.push(subscriber);
    for (let i = 0; i < 200; i++) await ledger.recordEntry({ accountId: `warm-${i % 20}`, amount: i });
    await subscriber.waitFor(200);
    const commitToHandler: number[] = [];
    const callToHandler: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const entered = subscriber.next();
      const called = now();
      await ledger.recordEntry({ accountId: `seq-${i % 50}`, amount: i });
      const committed = now();
      const at = await entered;
      commitToHandler.push(at - committed);
      callToHandler.push(at - called);
    }
    await subscriber.stop();
    children.length = 0;

    const drain1 = await drain(publisher, env, 1, 'one');
    const drain2 = await drain(publisher, env, 2, 'two');

    console.log(`\nEvents between two processes on JetStream (${SEQUENTIAL} sequential events; backlogs of ${BACKLOG} over ${AGGREGATES} aggregates)\n`);
    printTable(
      ['latency', 'p50 ms', 'p99 ms', 'mean ms'],
      [
        ['bare JetStream publish -> consume, same payload (baseline)', percentile(bare, 50), percentile(bare, 99), mean(bare)],
        ['floor of an outbox + inbox: commit -> read row, publish -> BEGIN, insert id, handler', percentile(floor, 50), percentile(floor, 99), mean(floor)],
        ['outbox commit -> handler entered in the other process', percentile(commitToHandler, 50), percentile(commitToHandler, 99), mean(commitToHandler)],
        ['command called -> handler entered (commit included)', percentile(callToHandler, 50), percentile(callToHandler, 99), mean(callToHandler)],
      ],
    );
    console.log(
      `\nratio p50 (commit -> handler): ${(percentile(commitToHandler, 50) / percentile(bare, 50)).toFixed(2)}x the bare stream, ` +
        `${(percentile(commitToHandler, 50) / percentile(floor, 50)).toFixed(2)}x the outbox + inbox floor\n`,
    );
    printTable(
      ['backlog in the stream, drained by', 'events', 'seconds', 'events/s'],
      [
        ['one subscriber process', BACKLOG, drain1 / 1000, BACKLOG / (drain1 / 1000)],
        ['two replicas sharing its consumer', BACKLOG, drain2 / 1000, BACKLOG / (drain2 / 1000)],
      ],
    );
  } finally {
    for (const child of children) await child.stop().catch(() => {});
    await publisher.close();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
    await database.drop();
  }
}

/**
 * A backlog left in the stream while the subscriber is down (its consumer
 * exists: it ran before), then `replicas` processes start and take it; timed
 * from the first event handled to the last.
 */
async function drain(publisher: Awaited<ReturnType<typeof startStoreApplication>>, env: NodeJS.ProcessEnv, replicas: number, tag: string): Promise<number> {
  const transactions = publisher.messaging.transactionsFor('ledger');
  for (let batch = 0; batch < BACKLOG / 100; batch++) {
    await transactions.run(async (tx) => {
      for (let i = 0; i < 100; i++) tx.publish(new EntryRecorded(`${tag}-${(batch * 100 + i) % AGGREGATES}`, batch, i));
    });
  }
  // Every event is in the stream before anyone reads it.
  for (;;) {
    const stats = await publisher.messaging.stats();
    if (stats.ledger.pending === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const subscribers = await Promise.all(Array.from({ length: replicas }, () => Subscriber.start('store', 'drain', env)));
  try {
    const first = Math.min(...(await Promise.all(subscribers.map((s) => s.first()))));
    for (;;) {
      const counts = await Promise.all(subscribers.map((s) => s.flush()));
      const handled = counts.reduce((sum, c) => sum + c.handled, 0);
      if (handled >= BACKLOG) return Math.max(...counts.map((c) => c.lastAt)) - first;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await Promise.all(subscribers.map((s) => s.stop()));
  }
}

/**
 * The same payloads through a bare stream between the same two processes: the
 * floor of any event bus on JetStream (`bare`); with `floor`, also what any
 * transactional outbox + inbox must add: timed from the commit of the event's
 * row, one read of it before the publish, and the subscriber's transaction.
 */
async function bareLatency(env: NodeJS.ProcessEnv, count: number, mode: 'bare' | 'floor'): Promise<number[]> {
  const database = mode === 'floor' ? new pg.Client({ connectionString: env.DATABASE_URL }) : undefined;
  if (database) {
    await database.connect();
    await database.query('CREATE TABLE IF NOT EXISTS floor_outbox (id uuid PRIMARY KEY, payload jsonb NOT NULL)');
    await database.query('CREATE TABLE IF NOT EXISTS floor_inbox (event_id uuid PRIMARY KEY)');
  }
  const connection = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(connection);
  const stream = `${env.NATS_SUBJECT_PREFIX}-${mode}`;
  await jsm.streams.add({ name: stream, subjects: [`${env.NATS_SUBJECT_PREFIX}.bare.>`] });
  await jsm.consumers.add(stream, { durable_name: 'bare', ack_policy: AckPolicy.Explicit });
  const subscriber = await Subscriber.start(mode, 'latency', { ...env, BARE_STREAM: stream });
  const js = jetstream(connection);
  const samples: number[] = [];
  try {
    for (let i = 0; i < count + 200; i++) {
      const envelope = {
        id: randomUUID(),
        name: 'ledger.EntryRecorded',
        version: 1,
        publisher: 'ledger',
        aggregateId: `seq-${i % 50}`,
        occurredAt: new Date().toISOString(),
        payload: { accountId: `seq-${i % 50}`, sequence: i, amount: i },
        headers: {},
      };
      const h = headers();
      h.set('Mf-Service-Token', env.SERVICE_TOKEN!);
      const entered = subscriber.next();
      let sent = now();
      if (database) {
        await database.query('INSERT INTO floor_outbox (id, payload) VALUES ($1, $2)', [envelope.id, JSON.stringify(envelope)]);
        sent = now();
        await database.query('SELECT payload FROM floor_outbox WHERE id = $1', [envelope.id]);
      }
      await js.publish(`${env.NATS_SUBJECT_PREFIX}.bare.ledger.EntryRecorded`, JSON.stringify(envelope), { msgID: envelope.id, headers: h });
      const at = await entered;
      if (i >= 200) samples.push(at - sent);
    }
  } finally {
    await subscriber.stop();
    await jsm.streams.delete(stream).catch(() => {});
    await connection.close();
    await database?.end();
  }
  return samples;
}

/** A forked subscriber process (bench/support/event-subscriber.child.ts). */
class Subscriber {
  private readonly waiting: Array<(at: number) => void> = [];
  private seen = 0;
  private lastFlush: ((count: { handled: number; lastAt: number }) => void) | undefined;
  private firstAt: Promise<number>;
  private resolveFirst!: (at: number) => void;
  private lastAt = 0;

  private constructor(private readonly child: ChildProcess) {
    this.firstAt = new Promise((resolve) => (this.resolveFirst = resolve));
  }

  static async start(mode: 'store' | 'bare' | 'floor', report: 'latency' | 'drain', env: NodeJS.ProcessEnv): Promise<Subscriber> {
    const child = fork(CHILD, [mode, report], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const subscriber = new Subscriber(child);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`subscriber process exited with ${code}`)));
      child.on('message', (message: Report) => {
        if (message.ready) resolve();
        else subscriber.received(message);
      });
    });
    return subscriber;
  }

  private received(message: Report): void {
    if (message.handled === undefined) {
      this.seen++;
      this.waiting.shift()?.(message.at!);
      return;
    }
    if (message.handled === 1) this.resolveFirst(message.at!);
    this.lastAt = Math.max(this.lastAt, message.at!);
    if (this.lastFlush && message.handled >= 0) {
      const flush = this.lastFlush;
      this.lastFlush = undefined;
      flush({ handled: message.handled, lastAt: this.lastAt });
    }
  }

  /** The time the next event is handled. */
  next(): Promise<number> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async waitFor(count: number): Promise<void> {
    while (this.seen < count) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  first(): Promise<number> {
    return this.firstAt;
  }

  /** How many it has handled so far, and when it last reported. */
  flush(): Promise<{ handled: number; lastAt: number }> {
    return new Promise((resolve) => {
      this.lastFlush = resolve;
      this.child.send({ flush: true });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ stop: true });
    await exited;
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});
