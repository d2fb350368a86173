import type { DataSource } from 'typeorm';
import { ident } from '../database/provisioning.js';
import { type DeadLetter, OutboxStore, type OutboxStats } from '../messaging/outbox.store.js';
import { recordSignal, sagaWakeups } from '../sagas/saga-signals.js';
import { type ListedSaga, SagaOperations, type StuckSaga } from '../sagas/saga-store.js';

/** How many sagas of one definition, version and state; `approximate` for ended ones of a large table (all definitions). */
export interface SagaCount {
  readonly saga: string;
  readonly version: number | null;
  readonly status: string;
  readonly count: number;
  readonly approximate?: true;
}

/** A saga by its key, as it stands now (an operator follows the ones they acted on). */
export interface KeyedSaga {
  readonly saga: string;
  readonly key: string;
  readonly version: number;
  readonly status: string;
  readonly step: string;
  readonly failureReason: string | null;
  readonly updatedAt: Date;
}

/** Up to this many rows, ended sagas are counted exactly by definition; beyond, the planner's estimate of them all. */
const EXACT_COUNT_ROWS = 20_000;

/** A subscriber's deliveries not yet made from this module's outbox: its lag, in events. */
export interface SubscriberBacklog {
  readonly subscriber: string;
  readonly pending: number;
  readonly dead: number;
}

/**
 * The one implementation of what an operator reads and does about one module:
 * its sagas (where each stands, retry, signal, cancel) and its outbox (backlog,
 * dead letters, replay). `npm run sagas`, `npm run outbox` and the console all
 * go through it, in whatever process holds the module's database; so they can
 * never disagree about what is stuck.
 */
export class ModuleOperations {
  private readonly sagaOperations: SagaOperations;
  private readonly outbox: OutboxStore;

  constructor(
    private readonly db: DataSource,
    readonly module: string,
  ) {
    this.sagaOperations = new SagaOperations(db, module);
    this.outbox = new OutboxStore(module, db);
  }

  /** Sagas not ended (at most `limit`), a waiting one with what it awaits and until when. */
  listSagas(limit = 100): Promise<ListedSaga[]> {
    return this.sagaOperations.list(limit);
  }

  /** STUCK sagas, oldest first, with their last error. */
  stuckSagas(): Promise<StuckSaga[]> {
    return this.sagaOperations.stuck();
  }

  /**
   * Every definition, version and state with its number of sagas. Sagas not ended are counted
   * exactly through their partial indexes; ended ones too while the table is small, and past
   * EXACT_COUNT_ROWS as the planner's estimate of all of them: a count of millions of rows every
   * two seconds per open console would cost a core (bench:console).
   */
  async sagaCounts(): Promise<SagaCount[]> {
    const sagas = `${ident(this.module)}.sagas`;
    const [{ estimate }]: Array<{ estimate: number }> = await this.db.query(
      `SELECT coalesce(reltuples, -1)::float8 AS estimate FROM pg_class WHERE oid = to_regclass($1)`,
      [sagas],
    );
    // -1: never analysed yet (autovacuum analyses a table long before it grows large): counted exactly.
    const exact = estimate <= EXACT_COUNT_ROWS;
    const live: SagaCount[] = await this.db.query(
      `SELECT saga, version, status, count(*)::int AS count FROM (
         SELECT saga, definition_version AS version, status FROM ${sagas} WHERE status IN ('RUNNING', 'WAITING')
         UNION ALL
         SELECT saga, definition_version AS version, status FROM ${sagas} WHERE status = 'STUCK'
         ${exact ? `UNION ALL SELECT saga, definition_version AS version, status FROM ${sagas} WHERE status = 'DONE'` : ''}
       ) counted GROUP BY saga, version, status ORDER BY saga, version, status`,
    );
    if (exact) return live;
    const notEnded = live.reduce((sum, row) => sum + row.count, 0);
    return [...live, { saga: '(all)', version: null, status: 'DONE', count: Math.max(0, Math.round(estimate) - notEnded), approximate: true }];
  }

  /** These sagas (by saga and key) as they stand now, found by their primary key. */
  async sagasByKey(keys: ReadonlyArray<{ readonly saga: string; readonly key: string }>): Promise<KeyedSaga[]> {
    if (keys.length === 0) return [];
    const rows: Array<{ saga: string; key: string; version: number; status: string; step: string; failure_reason: string | null; updated_at: Date }> =
      await this.db.query(
        `SELECT s.saga, s.key, s.definition_version AS version, s.status, s.step, s.failure_reason, s.updated_at
         FROM unnest($1::text[], $2::text[]) AS wanted (saga, key) JOIN ${ident(this.module)}.sagas s USING (saga, key)`,
        [keys.map((k) => k.saga), keys.map((k) => k.key)],
      );
    return rows.map((row) => ({
      saga: row.saga,
      key: row.key,
      version: row.version,
      status: row.status,
      step: row.step,
      failureReason: row.failure_reason,
      updatedAt: row.updated_at,
    }));
  }

  /** Puts the STUCK saga(s) of this key back in line, attempts reset; a runner in this process starts at once. */
  async retry(key: string): Promise<Array<{ saga: string; step: string }>> {
    const retried = await this.sagaOperations.retry(key);
    this.wake(retried);
    return retried;
  }

  /** The saga(s) of this key (of one saga, if named) give up and compensate. */
  async cancel(key: string, saga?: string): Promise<Array<{ saga: string; step: string }>> {
    const cancelled = await this.sagaOperations.cancel(key, saga);
    this.wake(cancelled);
    return cancelled;
  }

  /** Whether this module has ever had a saga of this name (a signal for an unknown one is likely a typo). */
  async hasSaga(saga: string): Promise<boolean> {
    const [known] = await this.db.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM ${ident(this.module)}.sagas WHERE saga = $1`, [saga]);
    return known.n > 0;
  }

  /** Records a signal as an event would; answers whether it was new (the same id twice counts once). */
  signal(saga: string, key: string, name: string, id: string): Promise<boolean> {
    return recordSignal(this.db, this.module, { saga, key, name, id });
  }

  outboxStats(): Promise<OutboxStats> {
    return this.outbox.stats();
  }

  deadLetters(limit = 100): Promise<DeadLetter[]> {
    return this.outbox.deadLetters(limit);
  }

  /** Deliveries pending and dead per subscriber of this module's events. */
  async backlogBySubscriber(): Promise<SubscriberBacklog[]> {
    const rows: Array<{ subscriber: string; pending: number; dead: number }> = await this.db.query(
      `SELECT subscriber, count(*) FILTER (WHERE status = 'PENDING')::int AS pending, count(*) FILTER (WHERE status = 'DEAD')::int AS dead
         FROM ${ident(this.module)}.outbox_deliveries GROUP BY subscriber ORDER BY subscriber`,
    );
    return rows;
  }

  /** Puts dead letters (all, or one event's) back in line; every relay of the module is woken by NOTIFY. */
  async replay(eventId?: string): Promise<number> {
    const replayed = await this.outbox.replay(eventId);
    await this.db.query('SELECT pg_notify($1, $2)', [this.outbox.channel, '']);
    return replayed;
  }

  /** A runner of the saga in this process takes it now; one elsewhere finds it due at its next poll. */
  private wake(sagas: ReadonlyArray<{ saga: string }>): void {
    for (const saga of new Set(sagas.map((s) => s.saga))) sagaWakeups.wake(this.module, saga);
  }
}
