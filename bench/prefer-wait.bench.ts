import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { deleteEventStream } from '../tools/support/event-streams.js';
import { benchDatabase } from './support/bench-database.js';
import { checkoutToEnd, order, seedProducts } from './support/checkout-load.js';
import { machineBusy } from './support/cpu-usage.js';
import { JsonClient } from './support/json-http.js';
import { option, percentile, printTable } from './support/stats.js';
import { healthy, type RunningProcess, servingPort, start, stop } from './support/store-process.js';

/**
 * Latency to a checkout's end as a client sees it (ADR 30): `Prefer: wait=10`
 * (one request, answered 201 with the whole order) against clients polling
 * GET /orders/:id every --poll-ms (10 and 100 by default), in alternation, one
 * checkout at a time; and how long after the saga's end each client learns it:
 * the answer's arrival (this machine's clock) less the saga's last log entry
 * (the database's clock_timestamp() in the statement that ended it, the same
 * machine's clock). Two placements: the monolith, and two replicas of Orders
 * behind a gateway (over NATS, where the saga often ends on the other replica
 * than the one the client waits on: its end travels by NOTIFY).
 *
 * Usage: npm run bench:prefer-wait [-- --checkouts 100 --warm-up 30 --topology monolith|orders-replicas]
 * NATS_URL (default nats://127.0.0.1:4222) for orders-replicas.
 */
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const CHECKOUTS = option('checkouts', 100);
const WARM_UP = option('warm-up', 30);
const POLLS = [10, 100];
const WAIT_S = 10;
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const only = process.argv.includes('--topology') ? process.argv[process.argv.indexOf('--topology') + 1] : undefined;
const TOPOLOGIES: Record<string, Array<Record<string, string>>> = {
  monolith: [{}],
  'orders-replicas': [
    { MODULES: 'orders', GATEWAY: 'off' },
    { MODULES: 'orders', GATEWAY: 'off' },
    { MODULES: 'inventory,payments,shipping,notifications', GATEWAY: 'on' },
  ],
};

interface Sample {
  readonly client: string;
  readonly endToEndMs: number;
  /** From the saga's end (the database's clock) to the client's knowing it (this machine's). */
  readonly lagMs: number;
}

/** POST with `Prefer: wait`: one request until the checkout's end. */
async function waited(client: JsonClient, customerId: string) {
  const sentAt = performance.now();
  const answer = await client.send('POST', '/orders', order(customerId), { prefer: `wait=${WAIT_S}` });
  if (answer.status !== 201) throw new Error(`Prefer: wait answered ${answer.status} ${JSON.stringify(answer.body)}, not 201`);
  const end = performance.now();
  const { orderId, status } = answer.body as { orderId: string; status: string };
  return { orderId, status, endToEndMs: end - sentAt, seenAt: performance.timeOrigin + end };
}

async function run(topology: string, processes: Array<Record<string, string>>): Promise<Sample[]> {
  const database = await benchDatabase(`mf_bench_wait`);
  const admin = new pg.Client({ connectionString: database.url });
  const prefix = `bw${randomBytes(4).toString('hex')}`;
  const stores: RunningProcess[] = [];
  try {
    const shared = {
      ...process.env,
      DATABASE_URL: database.url,
      PORT: '0',
      LOG_LEVEL: 'info',
      NATS_URL,
      NATS_SUBJECT_PREFIX: prefix,
      SERVICE_TOKEN: randomBytes(16).toString('hex'),
    };
    let port = 0;
    for (const env of processes) {
      const store = start(process.execPath, [MAIN], { ...shared, ...env });
      stores.push(store);
      const served = await servingPort(store);
      if (env.GATEWAY !== 'off') port = served;
    }
    await healthy(port);
    const client = new JsonClient(`http://127.0.0.1:${port}`);
    await admin.connect();
    await seedProducts(client, 1);
    const endOf = async (orderId: string): Promise<number> =>
      Number((await admin.query<{ at: string }>(`SELECT extract(epoch FROM max(at)) * 1000 AS at FROM orders.saga_log WHERE key = $1`, [orderId])).rows[0].at);

    console.error(`  ${topology}: warm-up, ${WARM_UP} checkouts each way`);
    for (let i = 0; i < WARM_UP; i++) {
      await waited(client, `warm-w-${i}`);
      for (const pollMs of POLLS) await checkoutToEnd(client, `warm-p-${i}`, pollMs);
    }
    console.error(`  ${topology}: ${CHECKOUTS} checkouts each way, in alternation`);
    const samples: Sample[] = [];
    for (let i = 0; i < CHECKOUTS; i++) {
      const wait = await waited(client, `wait-${i}`);
      samples.push({ client: `Prefer: wait=${WAIT_S}`, endToEndMs: wait.endToEndMs, lagMs: wait.seenAt - (await endOf(wait.orderId)) });
      for (const pollMs of POLLS) {
        const polled = await checkoutToEnd(client, `poll-${pollMs}-${i}`, pollMs);
        samples.push({ client: `polling every ${pollMs} ms`, endToEndMs: polled.endToEndMs, lagMs: polled.seenAt - (await endOf(polled.orderId)) });
      }
    }
    return samples;
  } finally {
    await admin.end().catch(() => {});
    for (const store of stores.reverse())
      await stop(store).catch((error: unknown) => console.error(`  stopping a store: ${(error as Error).message.split('\n')[0]}`));
    await database.drop();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
  }
}

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`no build at ${MAIN}: run \`npm run build\``);
  const busy = await machineBusy(2_000);
  console.error(`prefer-wait bench: node ${process.version}, ${cpus().length} CPUs`);
  const rows: Array<Array<string | number>> = [];
  for (const [topology, processes] of Object.entries(TOPOLOGIES)) {
    if (only !== undefined && only !== topology) continue;
    const samples = await run(topology, processes);
    for (const client of [...new Set(samples.map((sample) => sample.client))]) {
      const mine = samples.filter((sample) => sample.client === client);
      const e2e = mine.map((sample) => sample.endToEndMs);
      const lag = mine.map((sample) => sample.lagMs);
      rows.push([topology, client, mine.length, percentile(e2e, 50), percentile(e2e, 99), percentile(lag, 50), percentile(lag, 99)]);
    }
  }
  printTable(['topology', 'client', 'checkouts', 'to end p50 ms', 'to end p99 ms', 'saga end -> client knows p50 ms', 'p99 ms'], rows);
  if (busy !== undefined)
    console.log(`machine busy before the run: ${busy.toFixed(0)}% of one core${busy > 20 ? ' - other workloads were running: the numbers are skewed' : ''}`);
}

await main();
