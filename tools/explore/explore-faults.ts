import pg from 'pg';
import type { FaultProxy } from '../support/fault-proxy.js';
import type { ExploreEnvironment } from './explore-environment.js';
import type { ExploreProcesses } from './explore-processes.js';
import type { FaultEvent } from './explore-schedule.js';

export interface FaultContext {
  readonly environment: ExploreEnvironment;
  readonly processes: ExploreProcesses;
  /** Each process's link to NATS, by process name (none in a monolith). */
  readonly proxies: ReadonlyMap<string, FaultProxy>;
  /** The schedule's database, as an administrator (locks, triggers, the planted fault). */
  readonly adminUrl: string;
  readonly log: (text: string) => void;
}

/** What became of one fault: injected and healed, or why not (a fault the explorer could not heal is a failure too). */
export interface FaultOutcome {
  readonly event: FaultEvent;
  readonly injected: boolean;
  readonly healed: boolean;
  readonly error?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one fault of the schedule: waits for its time, injects it, lets it last
 * its duration, heals it. Every fault heals itself here (restart, SIGCONT,
 * heal, unlock, trigger dropped): a process that stays down at the end is
 * then the store's doing, not the schedule's.
 */
export async function runFault(event: FaultEvent, context: FaultContext, loadStart: number): Promise<FaultOutcome> {
  await sleep(Math.max(0, loadStart + event.atMs - performance.now()));
  const label = `#${event.id} ${event.kind} ${event.target}`;
  context.log(`${label}: injected`);
  let injected = false;
  try {
    const heal = await inject(event, context);
    injected = true;
    await sleep(event.durationMs);
    await heal();
    context.log(`${label}: healed`);
    return { event, injected, healed: true };
  } catch (error) {
    const message = (error as Error).message;
    if (!injected && DATABASE_FAULTS.has(event.kind)) {
      // Injected through the database, which another fault of the schedule may hold down for the
      // whole window (a PostgreSQL restart): nothing was done, so nothing is left to heal.
      context.log(`${label}: not injected (the database did not take it within its window): ${message}`);
      return { event, injected, healed: true, error: message };
    }
    context.log(`${label}: ${injected ? 'heal' : 'injection'} failed: ${message}`);
    return { event, injected, healed: false, error: message };
  }
}

/** Faults an administrator's connection injects: tried again while the database does not answer, within the fault's window. */
const DATABASE_FAULTS: ReadonlySet<FaultEvent['kind']> = new Set(['subscriber-fails', 'table-locked']);

/** Injects the fault; answers how to heal it. */
async function inject(event: FaultEvent, context: FaultContext): Promise<() => Promise<void>> {
  const { processes, environment } = context;
  switch (event.kind) {
    case 'sigkill':
      await processes.kill(event.target);
      return () => processes.restart(event.target);
    case 'sigstop':
      processes.pause(event.target);
      return async () => processes.resume(event.target);
    case 'deadline-outage':
      if (event.signal === 'SIGKILL') {
        await processes.kill(event.target);
        return () => processes.restart(event.target);
      }
      processes.pause(event.target);
      return async () => processes.resume(event.target);
    case 'postgres-restart':
      await environment.stopPostgres();
      return () => retry(() => environment.startPostgres(), 60_000);
    case 'nats-restart':
      // SIGTERM: a single server killed outright may lose what it acknowledged but had not yet
      // written (JetStream syncs every 2 min): that is NATS's durability, not the store's.
      await environment.nats.kill('SIGTERM');
      return () => retry(() => environment.nats.spawn(), 30_000);
    case 'link-slow':
    case 'link-partition': {
      const proxy = context.proxies.get(event.target.replace(/^link:/, ''));
      if (!proxy) throw new Error(`no link to NATS for ${event.target}`);
      if (event.kind === 'link-slow') proxy.delay(event.delayMs ?? 200);
      else proxy.partition();
      return async () => proxy.heal();
    }
    case 'subscriber-fails':
      return retrying(() => failSubscriber(context.adminUrl, event), event.durationMs);
    case 'table-locked':
      return retrying(() => lockTable(context.adminUrl, event.target), event.durationMs);
    case 'planted':
      await plantViolation(context.adminUrl);
      return async () => {};
  }
}

/**
 * The subscriber's handler fails for a stretch, with no hook in its code: a
 * trigger on its table raises on every insert (its transaction rolls back, the
 * event is retried with back-off), dropped at the heal.
 */
async function failSubscriber(adminUrl: string, event: FaultEvent): Promise<() => Promise<void>> {
  const trigger = `explore_fails_${event.id}`;
  await adminStatements(adminUrl, [
    `CREATE OR REPLACE FUNCTION public.explore_fail() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'explorer: the subscriber fails (planted by the fault schedule)'; END $$`,
    `CREATE TRIGGER ${trigger} BEFORE INSERT OR UPDATE ON ${event.target} FOR EACH ROW EXECUTE FUNCTION public.explore_fail()`,
  ]);
  // Dropped whatever happens meanwhile (a PostgreSQL restart): left in place, it would fail the subscriber forever.
  return () => retry(() => adminStatements(adminUrl, [`DROP TRIGGER IF EXISTS ${trigger} ON ${event.target}`]), 60_000);
}

/** An administrator holds an ACCESS EXCLUSIVE lock on the subscriber's table: its handlers wait. */
async function lockTable(adminUrl: string, table: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => {}); // a PostgreSQL restart meanwhile ends the lock with the session
  try {
    await client.connect();
    await client.query('BEGIN');
    await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return async () => {
    await client.query('ROLLBACK').catch(() => {});
    await client.end().catch(() => {});
  };
}

/**
 * The test-only planted fault: a declined order's payment turned CAPTURED
 * behind the store's back, which nothing in the store will ever touch again.
 * The explorer must report it (a CANCELLED order with a CAPTURED payment).
 */
async function plantViolation(adminUrl: string): Promise<void> {
  await retry(async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    client.on('error', () => {});
    await client.connect();
    try {
      const { rowCount } = await client.query(
        `UPDATE payments.payments SET status = 'CAPTURED' WHERE id = (SELECT id FROM payments.payments WHERE status = 'DECLINED' LIMIT 1)`,
      );
      if (!rowCount) throw new Error('no declined payment yet');
    } finally {
      await client.end().catch(() => {});
    }
  }, 30_000);
}

async function adminStatements(adminUrl: string, statements: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

/** `retry` for an injection: answers the heal of the attempt that succeeded. */
async function retrying(inject: () => Promise<() => Promise<void>>, timeoutMs: number): Promise<() => Promise<void>> {
  let heal: (() => Promise<void>) | undefined;
  await retry(async () => {
    heal = await inject();
  }, timeoutMs);
  return heal!;
}

/** Tries `action` until it succeeds or `timeoutMs` has passed (then throws its last error). */
async function retry(action: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await action();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await sleep(250);
    }
  }
}
