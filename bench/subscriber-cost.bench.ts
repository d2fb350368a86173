import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type BenchDatabase, benchServer } from './support/bench-database.js';
import { BareOutbox, buildWithout, buildWithoutDir, checkoutToEnd, load, type LoadResult, machineCpuMs, seedProducts } from './support/checkout-load.js';
import { machineBusy } from './support/cpu-usage.js';
import { JsonClient } from './support/json-http.js';
import { mean, meanWithConfidence, option, percentile, printTable } from './support/stats.js';
import { type RunningProcess, servingPort, start, stop } from './support/store-process.js';

/**
 * What a subscriber costs the checkout: this build and the same build without
 * the subscribing module (`--module`, default notifications) run side by side,
 * each on a database of its own on one Postgres, and are measured in turns:
 * each round gives each store a block of sequential checkouts (against bare
 * outbox transactions on its database) and a slice of load (autocannon for
 * `--slice` s, then until no order is PENDING), in the order
 * without/with, then with/without (ABBA), so that neither side always goes
 * first. A slice lasts seconds: whatever the machine does meanwhile (other
 * workloads, a checkpoint, a drift of the CPU's speed, which over a session
 * on this shared machine reached 75% for the same build) weighs on both sides
 * of a round, where runs of whole benches one after the other let it fall on
 * one. The store not being measured is idle.
 *
 * Prints each round, then the targets of #12: with the subscriber, at least
 * 90% of the throughput without it, and p50 end to end at most 12x one outbox
 * transaction; with the 95% confidence interval of the per-round ratio, which
 * says whether the rounds show the share or only suggest it.
 *
 * Usage: npm run bench:subscriber-cost [-- --rounds 10 --slice 5 --module notifications
 *        --connections 32 --products 1 --checkouts 30 --baseline 50 --warm-up 100]
 * The environment reaches both stores, e.g. CHECKOUT_ADMISSION_MIN_IN_FLIGHT=100000 to
 * compare capacity without the in-flight bound's refusals.
 */
const MODULE = process.argv.includes('--module') ? process.argv[process.argv.indexOf('--module') + 1] : 'notifications';
const ROUNDS = option('rounds', 10);
const SLICE_S = option('slice', 5);
const CONNECTIONS = option('connections', 32);
const PRODUCTS = option('products', 1);
const CHECKOUTS = option('checkouts', 30);
const BASELINE = option('baseline', 50);
const WARM_UP = option('warm-up', 100);
const POLL_MS = 1;
const TARGET_SHARE = 0.9;
const TARGET_RATIO = 12;
const THIS_BUILD = fileURLToPath(new URL('../src/main.js', import.meta.url));
const BUILD = fileURLToPath(new URL('../', import.meta.url));

type SideName = 'with' | 'without';

interface Side {
  readonly name: SideName;
  readonly database: BenchDatabase;
  readonly store: RunningProcess;
  readonly client: JsonClient;
  readonly admin: pg.Client;
  readonly base: string;
  readonly bareOutbox: BareOutbox;
  readonly bare: number[];
  readonly endToEnd: number[];
  readonly slices: Slice[];
}

/** A slice of load, and how many autovacuum and autoanalyze runs its database had meanwhile. */
interface Slice extends LoadResult {
  readonly maintenance: number;
}

async function main(): Promise<void> {
  if (!/^[a-z][a-z0-9-]*$/.test(MODULE)) throw new Error(`--module: '${MODULE}' is not a module name`);
  const busyBefore = await machineBusy(2_000);
  const withoutMain = buildWithout(BUILD, MODULE);
  const server = await benchServer();
  const sides: Side[] = [];
  try {
    for (const name of ['without', 'with'] as const) sides.push(await open(name, name === 'with' ? THIS_BUILD : withoutMain, server));
    for (const side of sides) {
      console.error(`subscriber cost: warming up the store ${side.name} ${MODULE} (${WARM_UP} checkouts, a ${SLICE_S} s slice)`);
      await seedProducts(side.client, PRODUCTS);
      for (let i = 0; i < WARM_UP; i++) await checkoutToEnd(side.client, `warm-${i}`, POLL_MS);
      await slice(side, 'warm-load');
    }
    const [without, withModule] = sides;
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [without, withModule] : [withModule, without];
      console.error(`subscriber cost: round ${round + 1} of ${ROUNDS} (${order.map((side) => side.name).join(', then ')})`);
      for (const side of order) {
        await side.bareOutbox.commit(BASELINE, side.bare);
        for (let i = 0; i < CHECKOUTS; i++) {
          const run = await checkoutToEnd(side.client, `e2e-${round}-${i}`, POLL_MS);
          if (run.status !== 'CONFIRMED') throw new Error(`order ${run.orderId} ended ${run.status}, not CONFIRMED`);
          side.endToEnd.push(run.endToEndMs);
        }
        side.slices.push(await slice(side, `slice-${round}`));
      }
    }
    report(without, withModule, busyBefore);
  } finally {
    for (const side of sides) await close(side).catch((error: unknown) => console.error(`subscriber cost: closing ${side.name}: ${(error as Error).message}`));
    await server.stop();
    rmSync(buildWithoutDir(withoutMain), { recursive: true, force: true });
  }
}

async function open(name: SideName, main: string, server: Awaited<ReturnType<typeof benchServer>>): Promise<Side> {
  const database = await server.database(`mf_bench_subscriber_${name}`);
  const store = start(process.execPath, [main], { ...process.env, DATABASE_URL: database.url, PORT: '0', LOG_LEVEL: 'info' });
  const base = `http://127.0.0.1:${await servingPort(store)}`;
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  const bareOutbox = await BareOutbox.open(database.url);
  return { name, database, store, client: new JsonClient(base), admin, base, bareOutbox, bare: [], endToEnd: [], slices: [] };
}

async function close(side: Side): Promise<void> {
  side.client.close();
  await side.bareOutbox.close().catch(() => {});
  await side.admin.end().catch(() => {});
  try {
    if (side.store.child.exitCode === null && side.store.child.signalCode === null) await stop(side.store);
  } finally {
    await side.database.drop();
  }
}

async function slice(side: Side, customerId: string): Promise<Slice> {
  const before = await maintenanceRuns(side.admin);
  const result = await load({
    base: side.base,
    admin: side.admin,
    storePid: side.store.child.pid!,
    customerId,
    durationS: SLICE_S,
    connections: CONNECTIONS,
    products: PRODUCTS,
  });
  return { ...result, maintenance: (await maintenanceRuns(side.admin)) - before };
}

/** Autovacuum and autoanalyze runs on the database's tables so far (the statistics lag by up to a second). */
async function maintenanceRuns(admin: pg.Client): Promise<number> {
  const { rows } = await admin.query<{ n: string | null }>('SELECT sum(autovacuum_count + autoanalyze_count) AS n FROM pg_stat_user_tables');
  return Number(rows[0].n ?? 0);
}

function report(without: Side, withModule: Side, busyBefore: number | undefined): void {
  const products = PRODUCTS === 1 ? 'one product' : `${PRODUCTS} products`;
  console.log(
    `\nWhat subscribing ${MODULE} costs the checkout: two stores side by side, measured in turns ` +
      `(${ROUNDS} rounds; per round and store ${CHECKOUTS} sequential checkouts, ${BASELINE} bare outbox transactions ` +
      `and ${SLICE_S} s of load at ${CONNECTIONS} connections, ${products}; ${cpus().length} CPUs)`,
  );
  if (busyBefore !== undefined) {
    console.log(`machine busy before the run: ${busyBefore.toFixed(0)}% of one core${busyBefore > 20 ? ' - other workloads were running' : ''}`);
  }
  console.log('');
  const cpu = (result: LoadResult) => machineCpuMs(result.cpu, result.confirmed) ?? Number.NaN;
  const shares = withModule.slices.map((result, i) => result.completedPerSecond / without.slices[i].completedPerSecond);
  const cpuShares = withModule.slices.map((result, i) => cpu(without.slices[i]) / cpu(result));
  const perCheckout = (result: LoadResult, prefix: string) => {
    const share = result.cpu.find((c) => c.name.startsWith(prefix));
    return share === undefined ? Number.NaN : share.cpuMs / result.confirmed;
  };
  printTable(
    [
      'round',
      'store',
      'completed checkouts/s',
      'with / without',
      'machine CPU ms per checkout',
      'of which the store',
      'Postgres',
      'the rest',
      'autovacuum + analyze runs',
    ],
    shares.flatMap((share, i) =>
      [without, withModule].map((side) => {
        const result = side.slices[i];
        const rest = cpu(result) - perCheckout(result, 'store') - perCheckout(result, 'postgres');
        return [
          i + 1,
          `${side.name} ${MODULE}`,
          result.completedPerSecond,
          side === withModule ? `${(100 * share).toFixed(1)}%` : '',
          cpu(result),
          perCheckout(result, 'store'),
          perCheckout(result, 'postgres'),
          rest,
          result.maintenance,
        ];
      }),
    ),
  );
  // Over all slices: every confirmation over every slice's time, so a long slice weighs more.
  const rate = (side: Side) => side.slices.reduce((sum, r) => sum + r.confirmed, 0) / side.slices.reduce((sum, r) => sum + r.seconds, 0);
  const share = rate(withModule) / rate(without);
  const perRound = meanWithConfidence(shares);
  const perRoundCpu = meanWithConfidence(cpuShares);
  const ratio = (side: Side) => percentile(side.endToEnd, 50) / percentile(side.bare, 50);
  const refused = [without, withModule].flatMap((side) => side.slices).some((r) => r.non2xx > 0 || r.cancelled !== '0');
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log('');
  printTable(
    ['target', 'target', 'measured', 'met'],
    [
      [
        `completed checkouts/s with ${MODULE} / without (all slices)`,
        `>= ${TARGET_SHARE * 100}%`,
        `${pct(share)} (${rate(withModule).toFixed(0)} / ${rate(without).toFixed(0)})`,
        share >= TARGET_SHARE ? 'yes' : 'NO',
      ],
      [
        `p50 end to end / p50 outbox tx with ${MODULE}`,
        `<= ${TARGET_RATIO}x`,
        `${ratio(withModule).toFixed(1)}x`,
        ratio(withModule) <= TARGET_RATIO ? 'yes' : 'NO',
      ],
    ],
  );
  console.log('');
  printTable(
    ['also', 'measured'],
    [
      ['with / without per round: mean, 95% confidence interval', `${pct(perRound.mean)} (${pct(perRound.low)} - ${pct(perRound.high)})`],
      ['with / without per round: median (range)', `${pct(percentile(shares, 50))} (${pct(Math.min(...shares))} - ${pct(Math.max(...shares))})`],
      ['machine CPU per checkout, without / with per round: mean, 95% CI', `${pct(perRoundCpu.mean)} (${pct(perRoundCpu.low)} - ${pct(perRoundCpu.high)})`],
      [
        `machine CPU ms per checkout under load, without / with ${MODULE} (means)`,
        `${mean(without.slices.map(cpu)).toFixed(2)} / ${mean(withModule.slices.map(cpu)).toFixed(2)}`,
      ],
      [
        `p50 end to end / p50 outbox tx without ${MODULE}`,
        `${ratio(without).toFixed(1)}x (end to end p50 ${percentile(without.endToEnd, 50).toFixed(1)} ms without, ${percentile(withModule.endToEnd, 50).toFixed(1)} ms with)`,
      ],
      [
        'write transactions per checkout under load, without / with',
        `${(sumOf(without, 'xids') / confirmedOf(without)).toFixed(2)} / ${(sumOf(withModule, 'xids') / confirmedOf(withModule)).toFixed(2)}`,
      ],
      [
        'WAL KiB per checkout under load, without / with',
        `${(sumOf(without, 'walBytes') / confirmedOf(without) / 1024).toFixed(1)} / ${(sumOf(withModule, 'walBytes') / confirmedOf(withModule) / 1024).toFixed(1)}`,
      ],
    ],
  );
  if (perRound.low >= TARGET_SHARE) console.log(`\nThe rounds show the share: the whole 95% interval is at or above ${TARGET_SHARE * 100}%.`);
  else if (perRound.high < TARGET_SHARE) console.log(`\nThe rounds show the share is below ${TARGET_SHARE * 100}%: the whole 95% interval is.`);
  else console.log(`\nThe 95% interval spans ${TARGET_SHARE * 100}%: more rounds (--rounds) would tell.`);
  if (refused) console.log('Some orders were refused or cancelled under load (see CHECKOUT_ADMISSION_MIN_IN_FLIGHT): the slices measure capacity less those.');
}

const sumOf = (side: Side, counter: 'xids' | 'walBytes') => side.slices.reduce((sum, r) => sum + r.writes[counter], 0);
const confirmedOf = (side: Side) => side.slices.reduce((sum, r) => sum + r.confirmed, 0);

main().catch((error: unknown) => {
  console.error(`bench:subscriber-cost: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});
