import type { DataSource } from 'typeorm';
import { ident } from '../database/provisioning.js';
import { queryPrepared } from '../database/prepared-query.js';
import type { TransactionRunner } from '../messaging/transaction-runner.js';
import { type LogEntry, reachIndexes, SagaPlan, type SagaDefinition, type SagaEffect, type SagaOutputs, type Transition } from './saga-definition.js';
import { type SagaClock, systemClock } from './saga-clock.js';
import { type ComposedEffect, composeEffect } from './saga-effect.js';

/** Log entries and output of idempotent steps run since the saga was last written (see `idempotent`). */
export interface Unrecorded {
  /** Each with when it happened (`performance.now()`), so its logged time is the database's now less its age. */
  readonly log: ReadonlyArray<LogEntry & { readonly at: number }>;
  readonly output: Readonly<Record<string, string | number | null>>;
}

/** A saga a runner holds a lease on, with what its steps need. Every write checks and bumps `version`. */
export interface HeldSaga<S> {
  readonly key: string;
  readonly step: string;
  readonly failureReason: string | null;
  readonly attempts: number;
  readonly version: number;
  /** Its deadline has passed, by the database's clock. */
  readonly overdue: boolean;
  readonly traceContext: Readonly<Record<string, string>>;
  readonly subject: S;
  /** What its steps have answered, as written; `unrecorded` steps' answers join them at the next write. */
  readonly outputs: SagaOutputs;
  /** Until when (`performance.now()`, conservatively) this runner's lease holds. */
  readonly leaseEndsAt: number;
  /**
   * When its deadline passes (`performance.now()`, never later than the
   * database's deadline: the time left it answered, counted from before the
   * question); Infinity without one. Decides only whether a step may be left
   * unrecorded: giving up follows the database's `overdue`.
   */
  readonly deadlineEndsAt: number;
  /** Steps done since the row was last written: the row still shows the step before them. */
  readonly unrecorded?: Unrecorded;
  /** The furthest step a runner lost before this one may have started (see `SagaState.reach`). */
  readonly reach: string | null;
  /** It is WAITING at its step (claimed because a signal landed or its time came). */
  readonly waiting?: boolean;
  /** Its wait's time is up, by the database's clock. */
  readonly waitOver?: boolean;
  /** The earliest recorded signal its wait awaits and has not consumed, as the claim found it. */
  readonly signal?: { readonly name: string; readonly id: string } | null;
  /** How many signals were recorded for it when it was read: a wait it enters compares (see `advance`). */
  readonly signals?: number;
  /** An operator asked it to give up (npm run sagas -- cancel), with this reason. */
  readonly cancelReason?: string | null;
  /** The definition's version it started on (the newest's when not said). */
  readonly definitionVersion?: number;
}

export interface ListedSaga {
  readonly saga: string;
  readonly key: string;
  readonly version: number;
  readonly status: string;
  readonly step: string;
  /** A waiting saga's awaited signals (none: a sleep) and when its wait ends. */
  readonly awaiting?: readonly string[];
  readonly until?: Date | null;
  readonly cancelReason: string | null;
}

export interface StuckSaga {
  readonly saga: string;
  readonly key: string;
  readonly step: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly since: Date;
}

interface Row {
  key: string;
  step: string;
  failure_reason: string | null;
  attempts: number;
  version: number;
  overdue: boolean;
  deadline_in_ms: number | null;
  trace_context: Record<string, string>;
  outputs: SagaOutputs;
  reach: string | null;
  waiting: boolean;
  wait_over: boolean;
  signal: { name: string; id: string } | null;
  signals: number;
  cancel_reason: string | null;
}

/**
 * One saga type's rows in its module's `sagas` and `saga_log`. Every time is
 * the database's (`now()`), never the process's: runners on several machines
 * agree on leases and deadlines whatever their clocks say.
 */
export class SagaStore<S> {
  private readonly sagas: string;
  private readonly log: string;
  /** The NOTIFY channel of this saga type's watched ends (ADR 30). */
  readonly endsChannel: string;
  /** With the module's effect, and without it (a transition it does not apply to). */
  private readonly advanceSql = new Map<boolean, string>();
  /** The module's effect, composed: its statement and its numbered parameters (from `$11`). */
  private readonly effect: ComposedEffect;
  /** The forward steps in order, and (1-based, as SQL arrays) how far a holder at each may get unwritten. */
  private readonly stepNames: string[];
  private readonly reachOf: number[];
  private readonly signals: string;
  private readonly plan: SagaPlan<S>;

  constructor(
    private readonly definition: SagaDefinition<S>,
    private readonly db: DataSource,
    private readonly transactions: TransactionRunner,
    /** The owning module, whose schema holds the tables. */
    readonly module: string,
    /** The process's monotonic clock (tests drive their own). */
    private readonly clock: SagaClock = systemClock,
  ) {
    this.sagas = `${ident(module)}.sagas`;
    this.log = `${ident(module)}.saga_log`;
    this.endsChannel = `${module}.${definition.name}.ended`;
    this.signals = `${ident(module)}.saga_signals`;
    this.plan = new SagaPlan(definition);
    this.stepNames = definition.steps.map((step) => step.name);
    this.reachOf = reachIndexes(definition.steps).map((index) => index + 1);
    this.effect = composeEffect(definition.name, definition.effect as SagaEffect<unknown> | undefined, module, 11, 'moved');
  }

  /**
   * One statement per written transition (ADR 10): the saga moves only if this
   * runner still holds it (version), and then its log (with what idempotent
   * steps did since the last write, each at its own time), its outputs, the
   * module's own effect (composed from its terms, ADR 35) and the events it
   * publishes move with it. `$1`-`$10` are the engine's, the effect's follow
   * from `$11` (none when the transition leaves it out), then (from `$next`)
   * the outputs, the wait it enters, if any (`$next+1`-`$next+4`), and the events.
   *
   * A wait begins in the same statement (status WAITING, lease released): due
   * at its end, or at once if a signal it awaits is recorded already, or if a
   * signal landed since the runner read the saga (the `signals` count moved:
   * a signal committed during this statement is not in its snapshot, but its
   * row update, which this one waits for, is). A consumed signal is marked in it.
   */
  private advanceSqlFor(withEffect: boolean): string {
    let sql = this.advanceSql.get(withEffect);
    if (sql !== undefined) return sql;
    const effect = this.definition.effect;
    const next = 11 + (withEffect ? this.effect.count : 0);
    const [waitMs, awaiting, seen, consumed] = [next + 1, next + 2, next + 3, next + 4].map((n) => `$${n}`);
    const events = effect?.events ? `, ${this.transactions.outboxCtes(next + 5, 'EXISTS (SELECT 1 FROM moved)')}` : '';
    sql = `WITH moved AS (
         UPDATE ${this.sagas} s
            SET step = $3, status = CASE WHEN $3 = 'DONE' THEN 'DONE' WHEN ${waitMs}::float8 IS NOT NULL THEN 'WAITING' ELSE 'RUNNING' END,
                failure_reason = $4, attempts = 0, last_error = NULL, version = s.version + 1, updated_at = now(),
                next_run_at = CASE
                  WHEN ${waitMs}::float8 IS NULL THEN now()
                  WHEN s.signals <> ${seen}::int OR EXISTS (
                    SELECT 1 FROM ${this.signals} g
                     WHERE g.saga = $1 AND g.key = $2 AND g.consumed_at IS NULL AND g.name = ANY(${awaiting}::text[])
                       AND g.signal_id IS DISTINCT FROM ${consumed}::text) THEN now()
                  ELSE now() + make_interval(secs => ${waitMs}::float8 / 1000.0) END,
                wake_at = now() + make_interval(secs => ${waitMs}::float8 / 1000.0),
                awaiting = ${awaiting}::text[],
                locked_until = CASE WHEN $3 = 'DONE' OR $9 OR ${waitMs}::float8 IS NOT NULL THEN NULL ELSE now() + make_interval(secs => $5 / 1000.0) END,
                outputs = s.outputs || $${next}::jsonb
          WHERE saga = $1 AND key = $2 AND s.version = $6
         RETURNING s.version, coalesce(s.deadline_at <= now(), false) AS overdue, extract(epoch FROM s.deadline_at - now()) * 1000 AS deadline_in_ms, s.watched
       ), consumed AS (
         UPDATE ${this.signals} SET consumed_at = now(), consumed_by = $3
          WHERE saga = $1 AND key = $2 AND signal_id = ${consumed}::text AND consumed_at IS NULL AND EXISTS (SELECT 1 FROM moved)
       ), ended AS (
         -- Someone waits for this end (ADR 30): sent at commit, to every process that LISTENs.
         SELECT pg_notify('${this.endsChannel}', $2) FROM moved WHERE moved.watched AND $3 = 'DONE'
       ), logged AS (
         INSERT INTO ${this.log} (saga, key, step, status, at)
         SELECT $1, $2, l.step, l.status, clock_timestamp() - make_interval(secs => l.age_ms / 1000.0)
           FROM unnest($7::text[], $8::text[], $10::float8[]) WITH ORDINALITY AS l (step, status, age_ms, n)
          WHERE EXISTS (SELECT 1 FROM moved) ORDER BY l.n
       )${withEffect ? `, effect AS (${this.effect.sql})` : ''}${events}
       SELECT m.version, m.overdue, m.deadline_in_ms, (SELECT count(*) FROM ended) AS notified
         FROM (SELECT 1) AS one LEFT JOIN moved m ON true`;
    this.advanceSql.set(withEffect, sql);
    return sql;
  }

  /**
   * SQL of a data-modifying CTE pair that starts a saga inside the caller's own
   * statement (placing an order starts its checkout in the same round trip).
   * `p` names the caller's placeholders: key, lease (ms, null: not leased),
   * trace context (jsonb), deadline (ms, null: none).
   */
  startSql(p: { key: string; leaseMs: string; traceContext: string; deadlineMs: string }, from = ''): string {
    const first = this.definition.steps[0].name;
    const name = this.definition.name;
    return `saga_started AS (
         INSERT INTO ${this.sagas} (saga, key, step, deadline_at, trace_context, locked_until, version, definition_version)
         SELECT '${name}', ${p.key}, '${first}', now() + make_interval(secs => ${p.deadlineMs} / 1000.0), ${p.traceContext},
                now() + make_interval(secs => ${p.leaseMs} / 1000.0), 1, ${Number(this.definition.version)} ${from}
         ON CONFLICT (saga, key) DO NOTHING
         RETURNING key
       ), saga_logged AS (
         INSERT INTO ${this.log} (saga, key, step, status) SELECT '${name}', key, '${first}', 'STARTED' FROM saga_started
       )`;
  }

  /**
   * Leases due sagas to this runner, skipping those another runner holds. A
   * saga whose lease ran out (its runner died or was cut off without writing)
   * may have got further than its row shows, past idempotent steps and into
   * the next: the claim notes that reach with it, for a give-up (ADR 19).
   */
  async claim(limit: number, leaseMs: number): Promise<Array<HeldSaga<S>>> {
    const askedAt = this.clock.now();
    const leaseEndsAt = askedAt + leaseMs;
    // Not prepared (see queryPrepared): the generic plan of this queue scan joins the whole table.
    const [rows] = await this.db.query<[Row[], number]>(
      `WITH due AS (
         SELECT saga, key FROM ${this.sagas}
          WHERE saga = $3 AND status IN ('RUNNING', 'WAITING') AND next_run_at <= now() AND (locked_until IS NULL OR locked_until < now())
            AND definition_version = $6
          ORDER BY next_run_at
          LIMIT $1
          FOR UPDATE SKIP LOCKED)
       UPDATE ${this.sagas} s
          SET locked_until = now() + make_interval(secs => $2 / 1000.0), version = s.version + 1,
              reach = CASE WHEN s.locked_until IS NULL THEN s.reach
                           ELSE ($4::text[])[greatest(array_position($4::text[], s.reach), ($5::int[])[array_position($4::text[], s.step)])] END
         FROM due WHERE s.saga = due.saga AND s.key = due.key
       RETURNING s.key, s.step, s.failure_reason, s.attempts, s.version, coalesce(s.deadline_at <= now(), false) AS overdue,
              extract(epoch FROM s.deadline_at - now()) * 1000 AS deadline_in_ms, s.trace_context, s.outputs, s.reach,
              s.status = 'WAITING' AS waiting, coalesce(s.wake_at <= now(), false) AS wait_over, s.signals, s.cancel_reason,
              CASE WHEN s.status = 'WAITING' THEN (
                SELECT json_build_object('name', g.name, 'id', g.signal_id) FROM ${this.signals} g
                 WHERE g.saga = s.saga AND g.key = s.key AND g.consumed_at IS NULL AND g.name = ANY(s.awaiting)
                 ORDER BY g.seq LIMIT 1) END AS signal`,
      [limit, leaseMs, this.definition.name, this.stepNames, this.reachOf, this.definition.version],
    );
    if (rows.length === 0) return [];
    const subjects = await this.definition.load(rows.map((row) => row.key));
    return rows.flatMap((row) => {
      const subject = subjects.get(row.key);
      return subject === undefined ? [] : [this.held(row, subject, leaseEndsAt, askedAt)];
    });
  }

  held(row: Row, subject: S, leaseEndsAt: number, askedAt: number): HeldSaga<S> {
    return {
      key: row.key,
      step: row.step,
      failureReason: row.failure_reason,
      attempts: row.attempts,
      version: row.version,
      overdue: row.overdue,
      traceContext: row.trace_context,
      subject,
      outputs: row.outputs,
      leaseEndsAt,
      deadlineEndsAt: deadlineEndsAt(askedAt, row.deadline_in_ms),
      reach: row.reach,
      waiting: row.waiting,
      waitOver: row.wait_over,
      signal: row.signal,
      signals: row.signals,
      cancelReason: row.cancel_reason,
      definitionVersion: this.definition.version,
    };
  }

  /**
   * Records a transition, with whatever idempotent steps did since the last
   * write (`saga.unrecorded`), its log entries and the module's effect atomically.
   * Answers whether it applied (not if this runner's lease expired and another
   * moved the saga meanwhile) and the saga as it now stands, unless it ended.
   * `release`: the runner is stopping, so the saga is left unleased for any other.
   */
  async advance(saga: HeldSaga<S>, transition: Transition, leaseMs: number, release = false): Promise<{ applied: boolean; next?: HeldSaga<S> }> {
    const effect = this.definition.effect;
    const now = this.clock.now();
    const log = [...(saga.unrecorded?.log ?? []), ...transition.log.map((entry) => ({ ...entry, at: now }))];
    const written: Transition = saga.unrecorded ? { ...transition, output: { ...saga.unrecorded.output, ...transition.output } } : transition;
    const outputs = { ...saga.outputs, ...written.output };
    const withEffect = this.effect.applies(written);
    const effectParams = withEffect ? this.effect.values(written) : [];
    // Entering a wait: the step it waits at (not one the saga is already waiting at: see `rewait`).
    const wait = this.plan.isWait(transition.next) ? this.plan.waitOf(transition.next) : undefined;
    const events = effect?.events ? await this.transactions.outboxParams(effect.events(written, { key: saga.key, subject: saga.subject, outputs })) : undefined;
    const leaseEndsAt = now + leaseMs;
    const [row] = await this.transactions.statement<{ version: number | null; overdue: boolean | null; deadline_in_ms: number | null }>(
      `advance-${this.definition.name}-saga`,
      this.advanceSqlFor(withEffect),
      [
        this.definition.name,
        saga.key,
        transition.next,
        transition.failureReason,
        leaseMs,
        saga.version,
        log.map((entry) => entry.step),
        log.map((entry) => entry.status),
        release,
        log.map((entry) => Math.max(0, now - entry.at)),
        ...effectParams,
        JSON.stringify(written.output),
        wait?.ms ?? null,
        wait ? [...wait.signals] : null,
        saga.signals ?? 0,
        saga.signal?.id ?? null,
        ...(events?.params ?? []),
      ],
    );
    // Announced only if this runner's transition applied (else the statement wrote none).
    if (row.version !== null && events) this.transactions.afterCommit(events.ids);
    if (row.version === null) return { applied: false };
    // Done, or waiting: no runner holds it now.
    if (transition.next === 'DONE' || wait) return { applied: true };
    return {
      applied: true,
      next: {
        ...saga,
        step: transition.next,
        failureReason: transition.failureReason,
        attempts: 0,
        version: row.version,
        overdue: row.overdue === true,
        leaseEndsAt,
        deadlineEndsAt: deadlineEndsAt(now, row.deadline_in_ms),
        outputs,
        unrecorded: undefined,
      },
    };
  }

  /**
   * A waiting saga taken up with neither a signal nor its time up (a signal it
   * does not await, one consumed already): back to waiting until its own
   * `wake_at`, or at once if a signal landed since it was read. Version-checked.
   */
  async rewait(saga: HeldSaga<S>): Promise<boolean> {
    const [rows] = await this.db.query<[unknown[], number]>(
      `UPDATE ${this.sagas} s
          SET locked_until = NULL, version = s.version + 1,
              next_run_at = CASE WHEN s.signals <> $4 OR EXISTS (
                SELECT 1 FROM ${this.signals} g WHERE g.saga = s.saga AND g.key = s.key AND g.consumed_at IS NULL AND g.name = ANY(s.awaiting))
                THEN now() ELSE s.wake_at END
        WHERE saga = $1 AND key = $2 AND version = $3 AND status = 'WAITING'
       RETURNING key`,
      [this.definition.name, saga.key, saga.version, saga.signals ?? 0],
    );
    return rows.length > 0;
  }

  /**
   * A technical failure: the same step again after `delayMs` (a forward step
   * with a deadline no later than it), lease released. Version-checked.
   */
  async retryLater(saga: HeldSaga<S>, delayMs: number, error: string, capAtDeadline: boolean): Promise<void> {
    await queryPrepared(
      this.db,
      `${this.definition.name}.saga-retry`,
      `UPDATE ${this.sagas}
          SET attempts = attempts + 1, last_error = left($4, 2000), locked_until = NULL, version = version + 1, updated_at = now(),
              next_run_at = CASE WHEN $5 AND deadline_at IS NOT NULL
                                 THEN least(now() + make_interval(secs => $3 / 1000.0), greatest(deadline_at, now()))
                                 ELSE now() + make_interval(secs => $3 / 1000.0) END
        WHERE saga = $1 AND key = $2 AND version = $6`,
      [this.definition.name, saga.key, delayMs, error, capAtDeadline, saga.version],
    );
  }

  /** Parks a saga for an operator (`npm run sagas -- retry`): it is not run again until then. */
  async markStuck(saga: HeldSaga<S>, error: string): Promise<boolean> {
    const [rows] = await this.db.query<[unknown[], number]>(
      `UPDATE ${this.sagas}
          SET status = 'STUCK', attempts = attempts + 1, last_error = left($4, 2000), locked_until = NULL,
              version = version + 1, updated_at = now()
        WHERE saga = $1 AND key = $2 AND version = $3
       RETURNING key`,
      [this.definition.name, saga.key, saga.version, error],
    );
    return rows.length > 0;
  }

  /**
   * Ends this runner's lease on a saga it still holds (same version), to be
   * claimed again after `delayMs`. A runner whose lease already expired changes
   * nothing: the saga belongs to whoever claimed it since. The step it was at
   * (`saga.step`, perhaps past the row's, perhaps still running) is noted as
   * the saga's reach, for a give-up (ADR 19).
   */
  async release(saga: Pick<HeldSaga<S>, 'key' | 'version' | 'step'>, delayMs: number): Promise<boolean> {
    const [rows] = await this.db.query<[unknown[], number]>(
      `UPDATE ${this.sagas}
          SET locked_until = NULL, next_run_at = now() + make_interval(secs => $4 / 1000.0), version = version + 1,
              reach = ($6::text[])[greatest(array_position($6::text[], reach), array_position($6::text[], $5::text))]
        WHERE saga = $1 AND key = $2 AND version = $3 AND status IN ('RUNNING', 'WAITING')
       RETURNING key`,
      [this.definition.name, saga.key, saga.version, delayMs, saga.step, this.stepNames],
    );
    return rows.length > 0;
  }

  /**
   * Marks the saga watched, so that its end NOTIFYs (ADR 30), and answers its
   * status (undefined: no such saga). One statement: either it ended before,
   * and this answers DONE, or its end comes after and sees the mark (the end's
   * UPDATE waits for this one's row lock and reads the row as it left it).
   */
  async watch(key: string): Promise<string | undefined> {
    const [row] = await queryPrepared<{ status: string }>(
      this.db,
      `${this.definition.name}.saga-watch`,
      `UPDATE ${this.sagas} SET watched = true WHERE saga = $1 AND key = $2 RETURNING status`,
      [this.definition.name, key],
    );
    return row?.status;
  }

  /** Which of `keys` have ended (after a LISTEN connection was lost, their NOTIFYs may have been). */
  async ended(keys: readonly string[]): Promise<string[]> {
    const rows = await queryPrepared<{ key: string }>(
      this.db,
      `${this.definition.name}.saga-ended`,
      `SELECT key FROM ${this.sagas} WHERE saga = $1 AND key = ANY($2::text[]) AND status = 'DONE'`,
      [this.definition.name, keys],
    );
    return rows.map((row) => row.key);
  }

  /**
   * What the admission reads (ADR 16): sagas in flight (RUNNING: running, queued
   * or waiting for a retry; not STUCK, which waits for an operator) and how long
   * the longest-waiting one has been due without any runner taking it (ms).
   * `connected` is called once the query has its connection, just before it is
   * sent: the caller knows what was written before its snapshot.
   */
  async admissionSample(connected: () => void = () => {}): Promise<{ inFlight: number; waitedMs: number }> {
    const runner = this.db.createQueryRunner();
    try {
      await runner.connect();
      connected();
      const [row] = await queryPrepared<{ in_flight: number; waited_ms: number | null }>(
        this.db,
        `${this.definition.name}.saga-admission-sample`,
        `SELECT count(*)::int AS in_flight,
                extract(epoch FROM now() - min(next_run_at) FILTER (
                  WHERE next_run_at <= now() AND (locked_until IS NULL OR locked_until < now()))) * 1000 AS waited_ms
           FROM ${this.sagas}
          WHERE saga = $1 AND status = 'RUNNING'`,
        [this.definition.name],
        runner,
      );
      return { inFlight: Number(row.in_flight), waitedMs: Math.max(0, Number(row.waited_ms ?? 0)) };
    } finally {
      await runner.release();
    }
  }

  /**
   * When the next saga falls due, so the runner can sleep exactly until then.
   * Asked after every pass, also when thousands of sagas wait for days: so it
   * reads only what the due index (saga, next_run_at) gives cheaply, never every
   * waiting row. Due or leased sagas have `next_run_at` in the past (a claim
   * takes only due ones, and a write that leases sets it to now()): among them,
   * the earliest a lease ends, or now. Past them, the first `next_run_at`
   * (no one leases a saga that is not due; were one leased, this would only
   * answer earlier than needed: a claim that finds nothing).
   */
  async nextDueInMs(): Promise<number | undefined> {
    const [row] = await this.db.query<Array<{ due_in_ms: number | string | null }>>(
      `SELECT extract(epoch FROM least(
                (SELECT min(greatest(next_run_at, coalesce(locked_until, next_run_at))) FROM ${this.sagas}
                  WHERE saga = $1 AND status IN ('RUNNING', 'WAITING') AND next_run_at <= now()),
                (SELECT min(next_run_at) FROM ${this.sagas}
                  WHERE saga = $1 AND status IN ('RUNNING', 'WAITING') AND next_run_at > now())) - now()) * 1000 AS due_in_ms`,
      [this.definition.name],
    );
    return row.due_in_ms === null ? undefined : Math.max(0, Number(row.due_in_ms));
  }

  /** Sagas not ended on versions other than `carried`: a build without their definition cannot run them. */
  async versionsInFlight(carried: readonly number[]): Promise<Array<{ version: number; count: number }>> {
    const rows = await this.db.query<Array<{ version: number; count: number }>>(
      `SELECT definition_version AS version, count(*)::int AS count FROM ${this.sagas}
        WHERE saga = $1 AND status <> 'DONE' AND NOT (definition_version = ANY($2::int[]))
        GROUP BY definition_version ORDER BY definition_version`,
      [this.definition.name, carried],
    );
    return rows;
  }

  async stuckCount(): Promise<number> {
    const [row] = await this.db.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM ${this.sagas} WHERE saga = $1 AND status = 'STUCK'`, [
      this.definition.name,
    ]);
    return row.n;
  }
}

function deadlineEndsAt(askedAt: number, deadlineInMs: number | string | null): number {
  return deadlineInMs === null ? Number.POSITIVE_INFINITY : askedAt + Number(deadlineInMs);
}

/** Operators' view of a schema's sagas (the CLI): which are stuck, and putting one back in line. */
export class SagaOperations {
  private readonly sagas: string;

  constructor(
    private readonly db: DataSource,
    schema: string,
  ) {
    this.sagas = `${ident(schema)}.sagas`;
  }

  /**
   * Sagas not ended, by saga, version, state and step, oldest first: a waiting
   * one with the signals it awaits and until when (at most `limit`).
   */
  async list(limit = 100): Promise<ListedSaga[]> {
    const rows: Array<{
      saga: string;
      key: string;
      version: number;
      status: string;
      step: string;
      awaiting: string[] | null;
      wake_at: Date | null;
      cancel_reason: string | null;
    }> = await this.db.query(
      // Each arm matches a partial index (sagas_due, sagas_stuck): ended sagas, however many, are never read.
      `SELECT saga, key, version, status, step, awaiting, wake_at, cancel_reason FROM (
           SELECT saga, key, definition_version AS version, status, step, awaiting, wake_at, cancel_reason, created_at FROM ${this.sagas}
            WHERE status IN ('RUNNING', 'WAITING')
           UNION ALL
           SELECT saga, key, definition_version AS version, status, step, awaiting, wake_at, cancel_reason, created_at FROM ${this.sagas}
            WHERE status = 'STUCK'
         ) live ORDER BY saga, version, status, step, created_at LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({
      saga: row.saga,
      key: row.key,
      version: row.version,
      status: row.status,
      step: row.step,
      ...(row.status === 'WAITING' ? { awaiting: row.awaiting ?? [], until: row.wake_at } : {}),
      cancelReason: row.cancel_reason,
    }));
  }

  /** Asks the saga(s) of this key (of one saga, if named) still going forward to give up and compensate; answers which. */
  async cancel(key: string, saga?: string, reason = 'CANCELLED_BY_OPERATOR'): Promise<Array<{ saga: string; step: string }>> {
    const [rows] = await this.db.query<[Array<{ saga: string; step: string }>, number]>(
      `UPDATE ${this.sagas}
          SET cancel_reason = $3, next_run_at = now(), status = CASE WHEN status = 'STUCK' THEN 'RUNNING' ELSE status END,
              attempts = 0, version = version + 1, updated_at = now()
        WHERE key = $1 AND ($2::text IS NULL OR saga = $2) AND status <> 'DONE'
       RETURNING saga, step`,
      [key, saga ?? null, reason],
    );
    return rows;
  }

  async stuck(): Promise<StuckSaga[]> {
    const rows: Array<{ saga: string; key: string; step: string; attempts: number; last_error: string | null; updated_at: Date }> = await this.db.query(
      `SELECT saga, key, step, attempts, last_error, updated_at FROM ${this.sagas} WHERE status = 'STUCK' ORDER BY updated_at LIMIT 100`,
    );
    return rows.map((row) => ({ saga: row.saga, key: row.key, step: row.step, attempts: row.attempts, lastError: row.last_error, since: row.updated_at }));
  }

  /** Runs a stuck saga (of this key) again at once, attempts reset; answers which sagas it put back. */
  async retry(key: string): Promise<Array<{ saga: string; step: string }>> {
    const [rows] = await this.db.query<[Array<{ saga: string; step: string }>, number]>(
      `UPDATE ${this.sagas}
          SET status = 'RUNNING', attempts = 0, next_run_at = now(), locked_until = NULL, version = version + 1, updated_at = now()
        WHERE key = $1 AND status = 'STUCK'
       RETURNING saga, step`,
      [key],
    );
    return rows;
  }
}
