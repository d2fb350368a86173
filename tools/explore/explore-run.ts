import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { deleteEventStream } from '../support/event-streams.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { freePortRange } from '../support/network.js';
import { waitForQuiet } from '../support/store-invariants.js';
import { planTopology } from '../topology/topologies.js';
import type { ExploreEnvironment } from './explore-environment.js';
import { type FaultOutcome, runFault } from './explore-faults.js';
import { checkInvariants, type InvariantCheck } from './explore-invariants.js';
import { ExploreProcesses } from './explore-processes.js';
import { generateSchedule, type Schedule } from './explore-schedule.js';
import { createProducts, runWorkload, type WorkloadResult } from './explore-workload.js';

/** The subscribers' tables a schedule may make fail or lock (Notifications records what it hears). */
export const SUBSCRIBER_TABLES = ['notifications.notifications'] as const;

export interface ExploreSettings {
  readonly modules: readonly string[];
  /** How long the load runs, ms (the faults fall in its first 70%). */
  readonly loadMs: number;
  /** How long the store may take to settle after the load, ms. */
  readonly quietTimeoutMs: number;
  /** Test-only: plant a violation mid-run (the explorer must report it). */
  readonly plant?: boolean;
  readonly log: (text: string) => void;
  /** Every process's output line (default: dropped; the last lines of a process that died are kept anyway). */
  readonly onProcessLine?: (process: string, line: string) => void;
}

export interface ScheduleResult {
  readonly schedule: Schedule;
  readonly faults: readonly FaultOutcome[];
  readonly workload: WorkloadResult | undefined;
  readonly checks: readonly InvariantCheck[];
  /** A failure of the run itself (the topology would not start, ...): a failure of the schedule too. */
  readonly error?: string;
  readonly ok: boolean;
}

/** The schedule a seed gives on a topology (without starting anything): what `--seed N` replays. */
export function scheduleFor(seed: number, topology: string, settings: Pick<ExploreSettings, 'modules' | 'loadMs' | 'plant'>): Schedule {
  const plans = planTopology(topology, settings.modules);
  return generateSchedule({
    seed,
    topology,
    processes: plans.map((p) => p.name),
    usesNats: usesNats(topology, settings.modules),
    loadMs: settings.loadMs,
    subscriberTables: settings.modules.includes('notifications') ? SUBSCRIBER_TABLES : [],
    plant: settings.plant,
  });
}

/** Whether the topology's processes talk over NATS: not when every process hosts every module. */
export function usesNats(topology: string, modules: readonly string[]): boolean {
  return planTopology(topology, modules).some((plan) => plan.env.MODULES !== undefined);
}

/** The carrier's webhook secret of an explored store, and its delivery workflow's times: a parcel's fate within seconds. */
const CARRIER_SECRET = 'whsec_explore';
const DELIVERY_ENV = { DELIVERY_DEADLINE_MS: '5000', REVIEW_DELAY_MS: '1000' };

/**
 * Runs one schedule: a fresh database and subject prefix, the topology's
 * processes (each process's NATS link through a fault proxy of its own), the
 * products; then the load and the faults together; then waits for the store to
 * settle (bounded) and checks every invariant.
 */
export async function runSchedule(schedule: Schedule, environment: ExploreEnvironment, settings: ExploreSettings): Promise<ScheduleResult> {
  const log = settings.log;
  const database = await environment.freshDatabase();
  const prefix = `x${schedule.seed}${randomBytes(3).toString('hex')}`;
  const nats = usesNats(schedule.topology, settings.modules);
  const proxies = new Map<string, FaultProxy>();
  let processes: ExploreProcesses | undefined;
  let faults: FaultOutcome[] = [];
  let workload: WorkloadResult | undefined;
  try {
    if (nats) for (const name of schedule.processes) proxies.set(name, await FaultProxy.start(environment.nats.url));
    processes = await ExploreProcesses.start(
      {
        topology: schedule.topology,
        modules: settings.modules,
        port: await freePortRange(schedule.processes.length + 1),
        ownDatabases: false,
        startTimeoutMs: 180_000,
        databaseUrl: database.url,
        env: {
          NATS_URL: environment.nats.url,
          NATS_SUBJECT_PREFIX: prefix,
          SERVICE_TOKEN: randomBytes(16).toString('hex'),
          LOG_LEVEL: 'warn',
          ...(schedule.checkoutDeadlineMs ? { CHECKOUT_DEADLINE_MS: String(schedule.checkoutDeadlineMs), CHECKOUT_STEP_TIMEOUT_MS: '1000' } : {}),
          ...DELIVERY_ENV,
        },
        processEnv: Object.fromEntries(
          planTopology(schedule.topology, settings.modules).map((plan) => [
            plan.name,
            {
              ...(proxies.has(plan.name) ? { NATS_URL: proxies.get(plan.name)!.url } : {}),
              // Only the processes that host Shipping hold the carrier's secret (ADR 28).
              ...(plan.env.MODULES === undefined || plan.env.MODULES.split(',').includes('shipping') ? { CARRIER_WEBHOOK_SECRET: CARRIER_SECRET } : {}),
            },
          ]),
        ),
      },
      settings.onProcessLine ?? (() => {}),
    );
    await createProducts(processes.gatewayUrls[0]);
    const running = processes;
    const loadStart = performance.now();
    const context = { environment, processes: running, proxies, adminUrl: database.url, log: (text: string) => log(`  ${stamp(loadStart)} ${text}`) };
    const faultRuns = schedule.faults.map((event) => runFault(event, context, loadStart));
    workload = await runWorkload({
      seed: schedule.seed,
      gatewayUrls: running.gatewayUrls,
      rate: schedule.rate,
      durationMs: schedule.loadMs,
      mix: schedule.mix,
      customer: `explore-${schedule.seed}`,
      carrierSecret: CARRIER_SECRET,
    });
    faults = await Promise.all(faultRuns);
    log(
      `  ${stamp(loadStart)} load done: ${workload.acknowledged.length} orders acknowledged, ${workload.cancellations.length} cancellations accepted, carrier events ${JSON.stringify(workload.carrierEvents)}; waiting for the store to settle`,
    );
    log(
      `  answers: ${Object.entries(workload.answers)
        .sort()
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ')}`,
    );
    // Every delivery ended too (its deadline is short here): none waits to undo an order while the invariants are read.
    const quiet = await waitForQuiet(database.url, settings.quietTimeoutMs, undefined, { deliveriesEnded: true });
    const stream = nats ? { url: environment.nats.url, stream: `${prefix}-events` } : undefined;
    await waitForDrain(database.url, stream, settings.quietTimeoutMs / 2);
    log(`  ${stamp(loadStart)} ${quiet.quiet ? 'settled' : 'did not settle'}: ${JSON.stringify(quiet.counts)}; checking invariants`);
    const checks = await checkInvariants({
      adminUrl: database.url,
      nats: stream,
      acknowledged: workload.acknowledged,
      quiet,
      unexpectedExits: running.unexpected,
      notRunning: running.notRunning(),
      deadLetterLines: running.deadLetterLines,
    });
    // A schedule in which the store took no order at all proves nothing: a failure, not a pass.
    checks.push({
      name: 'the store acknowledged checkouts under the schedule',
      violations: workload.acknowledged.length ? [] : [`no order acknowledged: ${JSON.stringify(workload.answers)}`],
    });
    for (const f of faults.filter((f) => !f.healed))
      checks.push({ name: `fault #${f.event.id} healed by the schedule`, violations: [`${f.event.kind} ${f.event.target}: ${f.error}`] });
    const ok = checks.every((c) => c.violations.length === 0);
    return { schedule, faults, workload, checks, ok };
  } catch (error) {
    const message = (error as Error).message;
    log(`  the run failed${processes ? '' : ' (the topology did not start)'}: ${message}`);
    const exits = processes?.unexpected ?? [];
    const checks = exits.length
      ? [
          {
            name: 'every process alive, or restarted by the schedule',
            violations: exits.map((e) => `${e.process} exited by itself (${e.exit}); its last lines:\n      ${e.lastLines.slice(-12).join('\n      ')}`),
          },
        ]
      : [];
    return { schedule, faults, workload, checks, error: message, ok: false };
  } finally {
    await processes?.stop().catch(() => {});
    for (const proxy of proxies.values()) await proxy.stop().catch(() => {});
    // A schedule that ended mid-fault may leave a server down: the next one needs both.
    await environment.startPostgres().catch(() => {});
    if (!environment.nats.pid) await environment.nats.spawn().catch(() => {});
    if (nats) await deleteEventStream(environment.nats.url, prefix).catch(() => {});
    await database.drop().catch(() => {});
  }
}

function stamp(start: number): string {
  return `[${((performance.now() - start) / 1000).toFixed(1).padStart(5)} s]`;
}

/**
 * After the orders settled, the events they made still travel (deliveries
 * made, consumers acknowledging): waits, bounded, until no delivery is pending
 * in any module and no consumer has events left, so that what the checks find
 * left is left for good.
 */
async function waitForDrain(adminUrl: string, stream: { url: string; stream: string } | undefined, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows: schemas } = await client.query<{ schema: string }>(
      `SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'outbox_deliveries'`,
    );
    const pending = async () => {
      let n = 0;
      for (const { schema } of schemas) {
        const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".outbox_deliveries WHERE status = 'PENDING'`);
        n += rows[0].n;
      }
      return n + (stream ? await unread(stream) : 0);
    };
    while ((await pending()) > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
  } finally {
    await client.end().catch(() => {});
  }
}

async function unread(stream: { url: string; stream: string }): Promise<number> {
  const connection = await connect({ servers: stream.url, timeout: 5_000 });
  try {
    const jsm = await jetstreamManager(connection);
    let n = 0;
    try {
      for await (const consumer of jsm.consumers.list(stream.stream)) n += consumer.num_pending + consumer.num_ack_pending;
    } catch {
      // no stream yet: nothing published
    }
    return n;
  } finally {
    await connection.close();
  }
}
