import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { queryPrepared } from '../database/prepared-query.js';
import { ident } from '../database/provisioning.js';
import { STREAM_SUBSCRIBER } from './event-stream.js';
import type { EventEnvelope } from '../contracts/integration-event.js';
import type { DeliveryClaim } from './message-bus.js';

/** An event ready to be written: everything but the id and time, which the outbox assigns. */
export interface OutgoingEvent {
  readonly name: string;
  readonly version: number;
  readonly aggregateId: string;
  readonly payload: Record<string, unknown>;
  readonly headers: Record<string, string>;
  /** Subscribers (`<module>.<name>`) that get a delivery row. */
  readonly subscribers: readonly string[];
}

/** One event claimed for one subscriber. */
export interface ClaimedDelivery {
  readonly subscriber: string;
  readonly attempts: number;
  readonly envelope: EventEnvelope;
  /**
   * For a delivery to the stream: the stream position of the aggregate's
   * previous event (null when none is known), which travels with the event.
   */
  readonly previousSequence: number | null;
  /**
   * The claim, as the subscriber's inbox fences the hand-over with: the event's
   * position in this outbox and the claim's token (`outbox_claims`), which
   * grows along an aggregate's claims, so the inbox can refuse a hand-over the
   * aggregate went past since it was claimed (a relay held past its lease: ADR 20).
   */
  readonly claim: DeliveryClaim;
}

/** A delivery made; `streamSequence` when it went to the stream. */
export interface MadeDelivery {
  readonly eventId: string;
  readonly subscriber: string;
  readonly streamSequence?: number;
}

export interface OutboxStats {
  /** Deliveries not yet made (including those waiting for a retry). */
  readonly pending: number;
  /** Age of the oldest pending delivery's event, in ms; 0 when none is pending. */
  readonly oldestPendingAgeMs: number;
  readonly dead: number;
}

export interface DeadLetter {
  readonly eventId: string;
  readonly subscriber: string;
  readonly name: string;
  readonly aggregateId: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly occurredAt: string;
}

/** The SQL of one module's outbox: the only code that reads or writes its tables. */
export class OutboxStore {
  readonly channel: string;
  private readonly outbox: string;
  private readonly deliveries: string;
  private readonly claims: string;

  constructor(
    readonly module: string,
    private readonly db: DataSource,
  ) {
    this.outbox = `${ident(module)}.outbox`;
    this.deliveries = `${ident(module)}.outbox_deliveries`;
    this.claims = `${ident(module)}.outbox_claims`;
    this.channel = `outbox_${module}`;
  }

  /**
   * Writes events and their delivery rows with the caller's transaction, in
   * one round trip. No NOTIFY: the process that commits hosts the module, so
   * its own relay is woken in process (a NOTIFY per commit serialises commits
   * on Postgres's notification queue, measured at 20% of a checkout's cost);
   * LISTEN stays for operators' replays (`npm run outbox`).
   */
  async write(manager: EntityManager, events: readonly OutgoingEvent[]): Promise<string[]> {
    if (events.length === 0) return [];
    const { ids, params } = this.writeParams(events);
    await queryPrepared(this.db, `${this.module}.outbox-write`, `WITH ${this.writeCtes(1, 'TRUE')} SELECT 1`, params, manager.queryRunner);
    return ids;
  }

  /**
   * The outbox write as CTEs of another statement (`outbox_written`,
   * `outbox_deliveries_written`), to put in its WITH: it writes the events
   * of `writeParams`, given as `$first`..`$first+7`, when `when` holds (a
   * condition on the statement's other CTEs). The text depends on nothing
   * else, so the statement can stay prepared whatever the events.
   */
  writeCtes(first: number, when: string): string {
    const $ = (n: number) => `$${first + n}`;
    return `outbox_written AS (
         INSERT INTO ${this.outbox} (id, name, version, aggregate_id, payload, headers)
         SELECT * FROM unnest(${$(0)}::uuid[], ${$(1)}::text[], ${$(2)}::int[], ${$(3)}::text[], ${$(4)}::jsonb[], ${$(5)}::jsonb[])
          WHERE ${when}
         RETURNING id, position, aggregate_id
       ), outbox_deliveries_written AS (
         INSERT INTO ${this.deliveries} (event_id, subscriber, position, aggregate_id)
         SELECT w.id, d.subscriber, w.position, w.aggregate_id
           FROM unnest(${$(6)}::uuid[], ${$(7)}::text[]) AS d (event_id, subscriber)
           JOIN outbox_written w ON w.id = d.event_id
       )`;
  }

  /** The eight parameters of `writeCtes` for these events, and the ids they get. */
  writeParams(events: readonly OutgoingEvent[]): { ids: string[]; params: unknown[] } {
    const ids = events.map(() => randomUUID());
    const deliveryIds: string[] = [];
    const subscribers: string[] = [];
    events.forEach((event, index) => {
      for (const subscriber of event.subscribers) {
        deliveryIds.push(ids[index]);
        subscribers.push(subscriber);
      }
    });
    return {
      ids,
      params: [
        ids,
        events.map((event) => event.name),
        events.map((event) => event.version),
        events.map((event) => event.aggregateId),
        events.map((event) => JSON.stringify(event.payload)),
        events.map((event) => JSON.stringify(event.headers)),
        deliveryIds,
        subscribers,
      ],
    };
  }

  /**
   * Claims due deliveries for a while (a lease), skipping rows another relay
   * holds. A delivery is due only when no earlier event of the same aggregate
   * is still pending for the same subscriber: that keeps per-aggregate order,
   * and means a batch holds at most one delivery per (subscriber, aggregate).
   * A scan of the queue, planned on each call (see queryPrepared: a generic
   * plan of a queue scan can be ruinous).
   */
  async claim(limit: number, leaseMs: number, holder: string): Promise<ClaimedDelivery[]> {
    const rows = await this.db.query<ClaimedRow[]>(this.claimSql('TRUE', 'ORDER BY d.position LIMIT $1'), [
      limit,
      leaseMs,
      this.module,
      STREAM_SUBSCRIBER,
      holder,
    ]);
    return rows.map((row) => toClaimed(this.module, row));
  }

  /**
   * Claims the due deliveries of these events, on the same terms as `claim`,
   * by key: what a commit in this process just wrote, found without a scan.
   * Prepared (a lookup by primary key plans the same whatever the data).
   */
  async claimEvents(eventIds: readonly string[], leaseMs: number, holder: string): Promise<ClaimedDelivery[]> {
    if (eventIds.length === 0) return [];
    const rows = await queryPrepared<ClaimedRow>(this.db, `${this.module}.outbox-claim-events`, this.claimSql('d.event_id = ANY($1::uuid[])', ''), [
      eventIds,
      leaseMs,
      this.module,
      STREAM_SUBSCRIBER,
      holder,
    ]);
    return rows.map((row) => toClaimed(this.module, row));
  }

  /**
   * The claim, for the due deliveries `which` selects ($1), leased for $2 ms
   * to the relay $5 (every bookkeeping write names it: see `markDelivered`);
   * `limit` the oldest so many. Without a limit there is no order to keep: an
   * ORDER BY would only tempt the planner to read the whole queue in order.
   * Claims keep an aggregate's deliveries to the stream in order, so its
   * previous event's stream position is already recorded when it is claimed.
   * Each claimed row draws its fencing token (`ClaimedDelivery.claim`): this
   * claim starts after every claim it must follow has committed (the one it
   * takes over, those of the aggregate's earlier deliveries), so its token is
   * greater than theirs.
   */
  private claimSql(which: string, limit: string): string {
    return `WITH due AS (
         SELECT d.event_id, d.subscriber
           FROM ${this.deliveries} d
          WHERE ${which}
            AND d.status = 'PENDING'
            AND d.next_attempt_at <= now()
            AND (d.locked_until IS NULL OR d.locked_until < now())
            AND NOT EXISTS (
                  SELECT 1 FROM ${this.deliveries} e
                   WHERE e.status = 'PENDING' AND e.subscriber = d.subscriber
                     AND e.aggregate_id = d.aggregate_id AND e.position < d.position)
          ${limit}
          FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE ${this.deliveries} d
            SET locked_until = now() + make_interval(secs => $2 / 1000.0), locked_by = $5::uuid, attempts = d.attempts + 1
           FROM due
          WHERE d.event_id = due.event_id AND d.subscriber = due.subscriber
         RETURNING d.event_id, d.subscriber, d.attempts, d.position, nextval('${this.claims}') AS claim
       )
       SELECT c.event_id, c.subscriber, c.attempts, c.position, c.claim, o.name, o.version, o.aggregate_id, o.payload, o.headers, o.occurred_at,
              coalesce(o.publisher, $3) AS publisher, ${RELAXED_COMMIT} AS relaxed,
              CASE WHEN c.subscriber = $4 THEN (
                SELECT p.stream_seq FROM ${this.outbox} p
                 WHERE p.aggregate_id = o.aggregate_id AND p.position < o.position AND p.stream_seq IS NOT NULL
                 ORDER BY p.position DESC LIMIT 1) END AS previous_seq
         FROM claimed c JOIN ${this.outbox} o ON o.id = c.event_id
        ORDER BY c.position`;
  }

  /**
   * Records deliveries made by the relay `holder`, those it still holds: a
   * claim another relay took over after this one's lease ran out is the other
   * relay's to record. A dead letter is the exception: another relay gave up
   * on the event while this one's subscriber took it (an inbox refuses a stale
   * hand-over only once a later one of the aggregate was taken), so the dead
   * letter is false and goes (ADR 20). Answers how many it no longer held (`lost`) and, with
   * `next`, in the same statement, when the next pending delivery (these
   * aside) falls due, as `nextDueInMs` answers: a relay's pass then ends
   * without another round trip.
   */
  async markDelivered(
    deliveries: readonly MadeDelivery[],
    holder: string,
    next?: { readonly announced: readonly string[] },
  ): Promise<{ lost: number; dueInMs?: number }> {
    if (deliveries.length === 0) return next ? { lost: 0, dueInMs: await this.nextDueInMs(next.announced) } : { lost: 0 };
    const streamed = deliveries.filter((d) => d.streamSequence !== undefined);
    // A delivery made leaves the queue (see UndeliveredQueue1700000000005); its event stays for the retention.
    const marked = `WITH delivered AS (
         DELETE FROM ${this.deliveries} d
          USING unnest($1::uuid[], $2::text[]) AS x (event_id, subscriber)
          WHERE d.event_id = x.event_id AND d.subscriber = x.subscriber AND (d.locked_by = $5::uuid OR d.status = 'DEAD')
         RETURNING d.event_id, d.subscriber
       ), streamed AS (
         UPDATE ${this.outbox} o SET stream_seq = x.seq
           FROM unnest($3::uuid[], $4::bigint[]) AS x (event_id, seq)
          WHERE o.id = x.event_id AND x.event_id IN (SELECT event_id FROM delivered)
       )`;
    const params = [
      deliveries.map((d) => d.eventId),
      deliveries.map((d) => d.subscriber),
      streamed.map((d) => d.eventId),
      streamed.map((d) => d.streamSequence),
      holder,
    ];
    const lostOf = (row: { marked: number }) => deliveries.length - Number(row.marked);
    if (!next) {
      const [row] = await queryPrepared<{ marked: number }>(
        this.db,
        `${this.module}.outbox-delivered`,
        `${marked} SELECT (SELECT count(*)::int FROM delivered) AS marked, ${RELAXED_COMMIT} AS relaxed`,
        params,
      );
      return { lost: lostOf(row) };
    }
    // The statement's snapshot still shows the rows it deletes as pending: they are left out by key.
    const [row] = await queryPrepared<{ due_in_ms: number | null; marked: number }>(
      this.db,
      `${this.module}.outbox-delivered-next-due`,
      `${marked}
       SELECT ${DUE_IN_MS} AS due_in_ms, (SELECT count(*)::int FROM delivered) AS marked, ${RELAXED_COMMIT} AS relaxed
         FROM ${this.deliveries} d
        WHERE d.status = 'PENDING'
          AND d.event_id <> ALL($6::uuid[])
          AND NOT EXISTS (SELECT 1 FROM delivered x WHERE x.event_id = d.event_id AND x.subscriber = d.subscriber)
          AND ${this.unblocked('NOT EXISTS (SELECT 1 FROM delivered x WHERE x.event_id = e.event_id AND x.subscriber = e.subscriber)')}`,
      [...params, next.announced],
    );
    return { lost: lostOf(row), dueInMs: dueInMs(row.due_in_ms) };
  }

  /**
   * Keeps an event of another module that a subscriber here gave up on, as a
   * dead delivery to that subscriber, with the caller's transaction: it is
   * listed and replayed like the module's own (`npm run outbox`). With `once`,
   * an event kept here before (a dead letter, maybe replayed since) is left
   * as it is; answers whether it wrote one.
   */
  async writeDeadLetter(
    manager: EntityManager,
    envelope: EventEnvelope,
    subscriber: string,
    attempts: number,
    error: string,
    options: { readonly once?: boolean } = {},
  ): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `WITH kept AS (
         INSERT INTO ${this.outbox} (id, name, version, aggregate_id, payload, headers, occurred_at, publisher)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET publisher = excluded.publisher
         WHERE NOT $12::boolean
         RETURNING id, position, aggregate_id
       )
       INSERT INTO ${this.deliveries} (event_id, subscriber, position, aggregate_id, status, attempts, last_error)
       SELECT id, $9, position, aggregate_id, 'DEAD', $10, left($11, 2000) FROM kept
       ON CONFLICT (event_id, subscriber) DO UPDATE
          SET status = 'DEAD', attempts = excluded.attempts, last_error = excluded.last_error, locked_until = NULL, locked_by = NULL
       RETURNING event_id`,
      [
        envelope.id,
        envelope.name,
        envelope.version,
        envelope.aggregateId,
        JSON.stringify(envelope.payload),
        JSON.stringify(envelope.headers),
        envelope.occurredAt,
        envelope.publisher,
        subscriber,
        attempts,
        error,
        options.once === true,
      ],
    );
    return rows.length > 0;
  }

  /**
   * Schedules a retry after `retryInMs`, or dead-letters when `retryInMs` is
   * undefined, if the relay `holder` still holds the claim (see
   * `markDelivered`); answers whether it did. An attempt that never reached
   * the subscriber (its process is down) does not count towards the limit:
   * the event waits for it instead.
   */
  async markFailed(eventId: string, subscriber: string, holder: string, error: string, retryInMs: number | undefined, countAttempt = true): Promise<boolean> {
    const [row] = await this.db.query<Array<{ held: boolean }>>(
      `WITH failed AS (
         UPDATE ${this.deliveries}
            SET status = CASE WHEN $4::int IS NULL THEN 'DEAD' ELSE 'PENDING' END,
                attempts = CASE WHEN $5 THEN attempts ELSE greatest(attempts - 1, 0) END,
                next_attempt_at = now() + make_interval(secs => coalesce($4::int, 0) / 1000.0),
                locked_until = NULL, locked_by = NULL, last_error = left($3, 2000)
          WHERE event_id = $1 AND subscriber = $2 AND locked_by = $6::uuid
         RETURNING 1
       )
       SELECT EXISTS (SELECT 1 FROM failed) AS held, ${RELAXED_COMMIT} AS relaxed`,
      [eventId, subscriber, error, retryInMs ?? null, countAttempt, holder],
    );
    return row.held;
  }

  /** Gives claims the relay `holder` still holds back untouched (a graceful stop before they were attempted). */
  async release(deliveries: ReadonlyArray<{ eventId: string; subscriber: string }>, holder: string): Promise<void> {
    if (deliveries.length === 0) return;
    await this.db.query(
      `UPDATE ${this.deliveries} d SET locked_until = NULL, locked_by = NULL, attempts = greatest(d.attempts - 1, 0)
         FROM unnest($1::uuid[], $2::text[]) AS x (event_id, subscriber)
        WHERE d.event_id = x.event_id AND d.subscriber = x.subscriber AND d.status = 'PENDING' AND d.locked_by = $3::uuid`,
      [deliveries.map((d) => d.eventId), deliveries.map((d) => d.subscriber), holder],
    );
  }

  /**
   * When the next pending delivery falls due, so the relay can sleep exactly
   * until then, leaving out the events in `announced`: commits here told the
   * relay of them, and its next pass claims them by key. A delivery behind an
   * earlier pending one of its aggregate is not due whatever its own time (the
   * claim would not take it): it falls due when that one is delivered, which
   * the delivering pass answers.
   */
  async nextDueInMs(announced: readonly string[] = []): Promise<number | undefined> {
    const [row] = await queryPrepared<{ due_in_ms: number | null }>(
      this.db,
      `${this.module}.outbox-next-due`,
      `SELECT ${DUE_IN_MS} AS due_in_ms FROM ${this.deliveries} d
        WHERE d.status = 'PENDING' AND d.event_id <> ALL($1::uuid[]) AND ${this.unblocked('TRUE')}`,
      [announced],
    );
    return dueInMs(row.due_in_ms);
  }

  /**
   * Over the pending deliveries `d`: no earlier delivery of its aggregate to
   * its subscriber is pending (among those `counts`, a condition on `e`), as the claim requires.
   */
  private unblocked(counts: string): string {
    return `NOT EXISTS (SELECT 1 FROM ${this.deliveries} e
                         WHERE e.status = 'PENDING' AND e.subscriber = d.subscriber AND e.aggregate_id = d.aggregate_id
                           AND e.position < d.position AND ${counts})`;
  }

  async stats(): Promise<OutboxStats> {
    const [row] = await this.db.query<Array<{ pending: string; dead: string; oldest_ms: number | null }>>(
      `SELECT count(*) FILTER (WHERE d.status = 'PENDING') AS pending,
              count(*) FILTER (WHERE d.status = 'DEAD') AS dead,
              extract(epoch FROM now() - min(o.occurred_at) FILTER (WHERE d.status = 'PENDING')) * 1000 AS oldest_ms
         FROM ${this.deliveries} d JOIN ${this.outbox} o ON o.id = d.event_id`,
    );
    return { pending: Number(row.pending), dead: Number(row.dead), oldestPendingAgeMs: Math.round(Number(row.oldest_ms ?? 0)) };
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const rows = await this.db.query<
      Array<{ event_id: string; subscriber: string; name: string; aggregate_id: string; attempts: number; last_error: string | null; occurred_at: Date }>
    >(
      `SELECT d.event_id, d.subscriber, o.name, d.aggregate_id, d.attempts, d.last_error, o.occurred_at
         FROM ${this.deliveries} d JOIN ${this.outbox} o ON o.id = d.event_id
        WHERE d.status = 'DEAD' ORDER BY d.position LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({
      eventId: row.event_id,
      subscriber: row.subscriber,
      name: row.name,
      aggregateId: row.aggregate_id,
      attempts: row.attempts,
      lastError: row.last_error,
      occurredAt: row.occurred_at.toISOString(),
    }));
  }

  /** Puts dead letters back in line with fresh attempts; all of them, or those of one event. */
  async replay(eventId?: string): Promise<number> {
    const rows = await this.db.query<unknown>(
      `UPDATE ${this.deliveries}
          SET status = 'PENDING', attempts = 0, next_attempt_at = now(), locked_until = NULL
        WHERE status = 'DEAD' AND ($1::uuid IS NULL OR event_id = $1::uuid)
       RETURNING event_id`,
      [eventId ?? null],
    );
    return affectedRows(rows);
  }

  /**
   * Vacuums the queue of deliveries, unless another vacuum of it is running.
   * Every delivery made deletes a row, and until a vacuum the dead rows keep
   * their pages and index entries, which every claim reads again (measured:
   * a queue of a few dozen live rows spread over 50-60 pages between two
   * autovacuums, whose pace the server sets, a minute apart by default). The
   * table belongs to the module's role, which may vacuum it.
   */
  async vacuumQueue(): Promise<void> {
    await this.db.query(`VACUUM (SKIP_LOCKED) ${this.deliveries}`);
  }

  /** Deletes events every subscriber has received, and inbox records, older than the retention. */
  async prune(retentionMs: number): Promise<{ events: number; inbox: number }> {
    // Delivered: no delivery of it is left in the queue (see UndeliveredQueue1700000000005).
    const [{ events }] = await this.db.query<Array<{ events: number }>>(
      `WITH pruned AS (
         DELETE FROM ${this.outbox} o
          WHERE o.occurred_at < now() - make_interval(secs => $1 / 1000.0)
            AND NOT EXISTS (SELECT 1 FROM ${this.deliveries} d WHERE d.event_id = o.id)
         RETURNING o.id
       )
       SELECT count(*)::int AS events FROM pruned`,
      [retentionMs],
    );
    const inbox = await this.db.query<unknown>(
      `DELETE FROM ${ident(this.module)}.inbox WHERE handled_at < now() - make_interval(secs => $1 / 1000.0) RETURNING event_id`,
      [retentionMs],
    );
    // Twice the retention: by then every publisher has pruned the event a position points at, so
    // the aggregate's next event names no predecessor and nothing waits for a forgotten one (ADR 12).
    await this.db.query(`DELETE FROM ${ident(this.module)}.event_positions WHERE updated_at < now() - make_interval(secs => $1 / 500.0)`, [retentionMs]);
    await this.db.query(`DELETE FROM ${ident(this.module)}.event_gaps WHERE created_at < now() - make_interval(secs => $1 / 500.0)`, [retentionMs]);
    // Twice the retention too: a relay held that long behind an aggregate's later hand-overs is not a pause.
    await this.db.query(`DELETE FROM ${ident(this.module)}.inbox_claims WHERE updated_at < now() - make_interval(secs => $1 / 500.0)`, [retentionMs]);
    await this.db.query(`DELETE FROM ${ident(this.module)}.event_failures WHERE updated_at < now() - make_interval(secs => $1 / 1000.0)`, [retentionMs]);
    return { events, inbox: affectedRows(inbox) };
  }
}

/** TypeORM answers an UPDATE or DELETE on Postgres with `[rows, rowCount]`, a SELECT with the rows. */
function affectedRows(result: unknown): number {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[1];
  }
  return Array.isArray(result) ? result.length : 0;
}

/** A claim's row: the delivery, its event, and (to the stream) the aggregate's previous stream position. */
interface ClaimedRow {
  readonly event_id: string;
  readonly subscriber: string;
  readonly attempts: number;
  readonly position: string;
  readonly claim: string;
  readonly name: string;
  readonly version: number;
  readonly aggregate_id: string;
  readonly payload: Record<string, unknown>;
  readonly headers: Record<string, string>;
  readonly occurred_at: Date;
  readonly publisher: string;
  readonly previous_seq: string | null;
}

function toClaimed(outbox: string, row: ClaimedRow): ClaimedDelivery {
  return {
    subscriber: row.subscriber,
    attempts: row.attempts,
    previousSequence: row.previous_seq === null ? null : Number(row.previous_seq),
    claim: { outbox, position: Number(row.position), token: Number(row.claim) },
    envelope: {
      id: row.event_id,
      name: row.name,
      version: row.version,
      publisher: row.publisher,
      aggregateId: row.aggregate_id,
      occurredAt: row.occurred_at.toISOString(),
      payload: row.payload,
      headers: row.headers,
    },
  };
}

/**
 * The relay's bookkeeping (leases, delivered marks, retry times) commits
 * without waiting for its WAL to reach the disk: should Postgres crash, the
 * last moments of it may be lost, which only means that an event is claimed
 * or delivered again, and the inbox (across processes, also the stream's
 * de-duplication by event id) makes a second delivery change nothing. The
 * events themselves, and what subscribers do with them, still commit
 * durably. Measured: the wait for the disk was most of what a delivery cost
 * Postgres (ADR 5). An expression of a statement's select list, so it holds
 * for that statement's own transaction only: these statements never run in
 * a caller's transaction. A statement that returns no row changed nothing,
 * so has nothing to commit either.
 */
const RELAXED_COMMIT = `(SELECT set_config('synchronous_commit', 'off', true))`;

/** Over the pending deliveries `d`: ms until the first falls due (its retry time, or its lease's end). */
const DUE_IN_MS = 'extract(epoch FROM min(greatest(d.next_attempt_at, coalesce(d.locked_until, d.next_attempt_at))) - now()) * 1000';

function dueInMs(value: number | null): number | undefined {
  return value === null ? undefined : Math.max(0, Number(value));
}
