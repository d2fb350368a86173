import { DataSource } from 'typeorm';
import type { SagaClock } from '../../src/platform/sagas/saga-clock.js';
import { CreateSagaTables1700000000002 } from '../../src/platform/sagas/saga.migration.js';
import { AddSagaOutputs1700000000003 } from '../../src/platform/sagas/saga-outputs.migration.js';
import { AddSagaReach1700000000006 } from '../../src/platform/sagas/saga-reach.migration.js';
import { AddSagaWaits1700000000009 } from '../../src/platform/sagas/saga-waits.migration.js';
import { AddSagaWatched1700000000030 } from '../../src/platform/sagas/saga-watched.migration.js';
import { AddSagaRunningIndex1700000000031 } from '../../src/platform/sagas/saga-running-index.migration.js';

/**
 * What a property test of the saga runner needs around it: a database whose
 * `now()` is a clock the test moves (`simclock.now()` shadows pg_catalog's on
 * the connections' search_path, so the engine's SQL is unchanged), the same
 * clock on the process's side, with timers fired one at a time, and
 * collaborators that keep books and answer only when the test says so.
 */

export const SIM_SCHEMA = 'sim';

/** A DataSource on `url` whose `now()` is the simulated clock's, with the saga tables in schema `sim`. */
export async function openSimulatedDatabase(url: string): Promise<DataSource> {
  const admin = new DataSource({ type: 'postgres', url, schema: SIM_SCHEMA, logging: false });
  await admin.initialize();
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${SIM_SCHEMA}`);
  await admin.query('CREATE SCHEMA IF NOT EXISTS simclock');
  await admin.query(`CREATE TABLE IF NOT EXISTS simclock.clock (t timestamptz NOT NULL)`);
  await admin.query(`INSERT INTO simclock.clock SELECT '2030-01-01T00:00:00Z' WHERE NOT EXISTS (SELECT 1 FROM simclock.clock)`);
  await admin.query(`CREATE OR REPLACE FUNCTION simclock.now() RETURNS timestamptz LANGUAGE sql STABLE AS 'SELECT t FROM simclock.clock'`);
  const runner = admin.createQueryRunner();
  for (const migration of [
    new CreateSagaTables1700000000002(),
    new AddSagaOutputs1700000000003(),
    new AddSagaReach1700000000006(),
    new AddSagaWaits1700000000009(),
    new AddSagaWatched1700000000030(),
    new AddSagaRunningIndex1700000000031(),
  ])
    await migration.up(runner);
  await runner.release();
  await admin.destroy();
  const db = new DataSource({
    type: 'postgres',
    url,
    schema: SIM_SCHEMA,
    logging: false,
    extra: { max: 4, options: `-c search_path=simclock,pg_catalog,${SIM_SCHEMA}` },
  });
  await db.initialize();
  return db;
}

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly owner: number;
  readonly callback: () => void;
}

/** One clock for the database and every replica; each replica's timers are its own, and die with it. */
export class SimulatedClock {
  private time = 0;
  private nextId = 0;
  private readonly timers: Timer[] = [];

  constructor(private readonly db: DataSource) {}

  get now(): number {
    return this.time;
  }

  /** The clock a replica sees: the shared time, its own timers. */
  forReplica(owner: number): SagaClock {
    return {
      now: () => this.time,
      setTimeout: (callback, ms) => {
        const timer = { id: ++this.nextId, at: this.time + ms, owner, callback };
        this.timers.push(timer);
        return timer.id;
      },
      clearTimeout: (id) => {
        const index = this.timers.findIndex((timer) => timer.id === id);
        if (index >= 0) this.timers.splice(index, 1);
      },
    };
  }

  /** A replica died: its timers never fire. */
  forget(owner: number): void {
    for (let index = this.timers.length - 1; index >= 0; index--) if (this.timers[index].owner === owner) this.timers.splice(index, 1);
  }

  /** Moves time on by `ms` (the database's too), firing due timers one at a time, in order, each followed by `settle`. */
  async advance(ms: number, settle: () => Promise<void>): Promise<void> {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at || a.owner - b.owner || a.id - b.id)[0];
      const to = due ? Math.max(this.time, due.at) : until;
      await this.db.query(`UPDATE simclock.clock SET t = t + make_interval(secs => $1 / 1000.0)`, [to - this.time]);
      this.time = to;
      if (!due) return;
      this.timers.splice(this.timers.indexOf(due), 1);
      due.callback();
      await settle();
    }
  }
}

export type Resource = 'charge' | 'reserve' | 'schedule';
/** none: never touched; held: done and not undone; undone: undone, or a tombstone left by an undo that came first; refused. */
export type Holding = 'none' | 'held' | 'undone' | 'refused';

/** A call a step made that has not been answered: the test decides what it does and when. */
export interface PendingCall {
  readonly id: number;
  readonly replica: number;
  readonly key: string;
  readonly resource: Resource;
  readonly undo: boolean;
  resolve(result: 'done' | 'refused'): void;
  reject(error: Error): void;
}

/**
 * The collaborators' books, as Payments, Inventory and Shipping keep them
 * (ADR 6): a do is idempotent by key, an undo of something never done leaves a
 * tombstone, a do that finds one does nothing and is refused for good.
 */
export class Books {
  private readonly holdings = new Map<string, Holding>();
  /** Unanswered calls, also those whose caller stopped waiting (a dead replica's, a timed-out attempt's): they may still land. */
  readonly pending: PendingCall[] = [];
  private nextId = 0;

  holding(key: string, resource: Resource): Holding {
    return this.holdings.get(`${key}/${resource}`) ?? 'none';
  }

  /** Applies a call's effect; answers what the callee would say. */
  apply(call: Pick<PendingCall, 'key' | 'resource' | 'undo'>, refuse = false): 'done' | 'refused' | 'voided' {
    const id = `${call.key}/${call.resource}`;
    const now = this.holding(call.key, call.resource);
    if (call.undo) {
      if (now === 'held' || now === 'none') this.holdings.set(id, 'undone');
      return 'done';
    }
    if (now === 'undone') return 'voided';
    if (now === 'refused' || (now === 'none' && refuse)) {
      this.holdings.set(id, 'refused');
      return 'refused';
    }
    this.holdings.set(id, 'held');
    return 'done';
  }

  /** A step's or an undo's call: pending until the test answers it. */
  call(replica: number, key: string, resource: Resource, undo: boolean): Promise<'done' | 'refused'> {
    return new Promise((resolve, reject) => {
      this.pending.push({ id: ++this.nextId, replica, key, resource, undo, resolve, reject });
    });
  }

  /** In a stable order (not arrival, which concurrent sagas may vary): the test picks by index. */
  sortedPending(): PendingCall[] {
    return [...this.pending].sort(
      (a, b) => a.key.localeCompare(b.key) || a.replica - b.replica || a.resource.localeCompare(b.resource) || Number(a.undo) - Number(b.undo) || a.id - b.id,
    );
  }

  take(call: PendingCall): void {
    this.pending.splice(this.pending.indexOf(call), 1);
  }
}
