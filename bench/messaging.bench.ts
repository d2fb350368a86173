import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startStoreApplication } from '../src/platform/application/store-application.js';
import { loadConfig } from '../src/platform/config/app-config.js';
import type { ContractClient } from '../src/platform/contracts/contract.js';
import { provisionModule } from '../src/platform/database/provisioning.js';
import { discoverModules } from '../src/platform/modules/module-discovery.js';
import { faults } from '../test/fixtures/messaging/src/modules/audit/faults.js';
import { EntryRecorded, LedgerContract } from '../test/fixtures/messaging/src/modules/ledger/ledger.contract.js';
import { mean, option, percentile, printTable } from './support/stats.js';
import { benchDatabase } from './support/bench-database.js';

/**
 * In-process event delivery, measured against its floor in the same run:
 * 1. bare commit: the same rows (account upsert, outbox row, delivery row) committed with plain pg;
 * 2. publish commit: the ledger command through the platform (contract call, validation, outbox);
 * 3. commit → handler: from the publisher's commit to the subscriber's handler being entered;
 * 4. sustained events/s: many concurrent publishers, until every event is handled.
 */
const SEQUENTIAL = option('events', 2000);
const THROUGHPUT_EVENTS = option('throughput-events', 20000);
const CONCURRENCY = option('concurrency', 32);
const DRAIN_EVENTS = option('drain-events', 20000);

const FIXTURES = fileURLToPath(new URL('../test/fixtures/messaging/src/modules/', import.meta.url));

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  const database = await benchDatabase('mf_bench_messaging');
  const modules = await discoverModules(FIXTURES);
  const config = loadConfig(
    { DATABASE_URL: database.url, PORT: '0', LOG_LEVEL: 'error', DB_POOL_SIZE: '10', DB_ROLE_SECRET: process.env.DB_ROLE_SECRET },
    modules.map((m) => m.definition.name),
  );
  const store = await startStoreApplication(config, modules);
  const ledger: ContractClient<typeof LedgerContract> = store.app.get(LedgerContract.client, { strict: false });
  try {
    // Warm-up: JIT, pools, plans.
    for (let i = 0; i < 200; i++) await ledger.recordEntry({ accountId: 'warm', amount: i });

    const bare = await bareCommits(database.url, SEQUENTIAL);

    const publish: number[] = [];
    const delivery: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      let handled!: () => void;
      const entered = new Promise<void>((resolve) => (handled = resolve));
      let enteredAt = 0;
      faults.onHandle = () => {
        enteredAt = performance.now();
        handled();
      };
      const start = performance.now();
      await ledger.recordEntry({ accountId: `seq-${i % 50}`, amount: i });
      const committed = performance.now();
      await entered;
      publish.push(committed - start);
      delivery.push(Math.max(0, enteredAt - committed));
    }
    faults.onHandle = undefined;

    const audit = store.databases.get('audit');
    const [{ n: before }] = await audit.query<Array<{ n: number }>>('SELECT count(*)::int AS n FROM audit.seen');
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, worker) => {
        while (next < THROUGHPUT_EVENTS) {
          next++;
          await ledger.recordEntry({ accountId: `load-${worker}-${next % 100}`, amount: next });
        }
      }),
    );
    const published = performance.now();
    for (;;) {
      const [{ n }] = await audit.query<Array<{ n: number }>>('SELECT count(*)::int AS n FROM audit.seen');
      if (n - before >= THROUGHPUT_EVENTS) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const handledAll = performance.now();

    // Delivery capacity alone: a backlog committed while the relays are stopped (100 events per
    // transaction, 1000 aggregates), then drained by the relay and handled through the inbox.
    await store.messaging.stop();
    const [{ n: beforeDrain }] = await audit.query<Array<{ n: number }>>('SELECT count(*)::int AS n FROM audit.seen');
    const transactions = store.messaging.transactionsFor('ledger');
    for (let batch = 0; batch < DRAIN_EVENTS / 100; batch++) {
      await transactions.run(async (tx) => {
        for (let i = 0; i < 100; i++) tx.publish(new EntryRecorded(`drain-${(batch * 100 + i) % 1000}`, batch, i));
      });
    }
    const drainStarted = performance.now();
    await store.messaging.start();
    for (;;) {
      const [{ n }] = await audit.query<Array<{ n: number }>>('SELECT count(*)::int AS n FROM audit.seen');
      if (n - beforeDrain >= DRAIN_EVENTS) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const drained = performance.now();

    console.log(`\nIn-process events on this machine (${SEQUENTIAL} sequential events, then ${THROUGHPUT_EVENTS} with ${CONCURRENCY} concurrent publishers)\n`);
    printTable(
      ['measure', 'p50 ms', 'p99 ms', 'mean ms'],
      [
        ['bare commit of the same rows (baseline)', percentile(bare, 50), percentile(bare, 99), mean(bare)],
        ['publish: command + outbox commit', percentile(publish, 50), percentile(publish, 99), mean(publish)],
        ['commit -> handler entered (added by delivery)', percentile(delivery, 50), percentile(delivery, 99), mean(delivery)],
      ],
    );
    console.log('');
    printTable(
      ['throughput', 'events', 'seconds', 'events/s'],
      [
        ['published (committed to outboxes)', THROUGHPUT_EVENTS, (published - started) / 1000, THROUGHPUT_EVENTS / ((published - started) / 1000)],
        ['delivered and handled (end to end)', THROUGHPUT_EVENTS, (handledAll - started) / 1000, THROUGHPUT_EVENTS / ((handledAll - started) / 1000)],
        [
          'backlog delivered and handled (relay + inbox alone)',
          DRAIN_EVENTS,
          (drained - drainStarted) / 1000,
          DRAIN_EVENTS / ((drained - drainStarted) / 1000),
        ],
      ],
    );
  } finally {
    await store.close();
    await database.drop();
  }
}

/**
 * The floor: the same rows a publish writes (account upsert, outbox row,
 * delivery row), committed with a bare pg client as the module's role, into
 * copies of the outbox tables that no relay reads.
 */
async function bareCommits(adminUrl: string, count: number): Promise<number[]> {
  // Provisioning is idempotent and answers the role's URL (the password the store's processes derive).
  const { url } = await provisionModule(adminUrl, 'ledger', process.env.DB_ROLE_SECRET);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE ledger.bare_outbox (LIKE ledger.outbox INCLUDING ALL)');
  await client.query('CREATE TABLE ledger.bare_deliveries (LIKE ledger.outbox_deliveries INCLUDING ALL)');
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const account = `bare-${i % 50}`;
      const start = performance.now();
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO ledger.accounts (id, last_sequence) VALUES ($1, 1)
         ON CONFLICT (id) DO UPDATE SET last_sequence = accounts.last_sequence + 1`,
        [account],
      );
      await client.query(
        `WITH written AS (
           INSERT INTO ledger.bare_outbox (id, name, version, aggregate_id, payload)
           VALUES ($1, 'ledger.EntryRecorded', 1, $2, $3) RETURNING id, position, aggregate_id)
         INSERT INTO ledger.bare_deliveries (event_id, subscriber, position, aggregate_id)
         SELECT id, 'audit.on-entry-recorded', position, aggregate_id FROM written`,
        [randomUUID(), account, JSON.stringify({ accountId: account, sequence: i, amount: i })],
      );
      await client.query('COMMIT');
      samples.push(performance.now() - start);
    }
  } finally {
    await client.query('DROP TABLE ledger.bare_deliveries, ledger.bare_outbox').catch(() => {});
    await client.end();
  }
  return samples;
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});
