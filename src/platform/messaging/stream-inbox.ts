import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { queryPrepared } from '../database/prepared-query.js';
import { ident } from '../database/provisioning.js';
import { contextFrom, inSpan, inTraceOf, SpanKind } from '../observability/tracing.js';
import type { RegisteredSubscriber } from './event-registry.js';
import type { StreamedEvent } from './event-stream.js';
import { decodeEvent } from './inbox.js';
import { eventOptions } from '../contracts/integration-event.js';
import { PoisonMessageError } from './message-bus.js';
import { backoffMs, type MessagingOptions } from '../config/messaging-options.js';
import type { TransactionRunner } from './transaction-runner.js';
import type { OutboxStore } from './outbox.store.js';
import type { EventSubscriber } from '../modules/subscription.js';

/**
 * Where an event stands for this subscriber:
 * - `next`: its turn (the aggregate's previous event is taken, or was published
 *   before the subscription existed): take it;
 * - `taken`: already taken (a redelivery, or the same event twice in the stream);
 * - `early`: an earlier event of its aggregate is not taken yet (in another
 *   replica's hands, or waiting for a retry): try again shortly;
 * - `late`: its aggregate went past it without taking it (a later event that
 *   waited for it too long was dead-lettered, leaving a gap): taking it now
 *   would break the aggregate's order, dropping it would lose it, so it is
 *   dead-lettered (ADR 20).
 */
type Turn = 'next' | 'taken' | 'early' | 'late';

/** An event decoded for this subscriber: its own kind, one it does not handle, or one it can never read. */
type Decoded = { readonly kind: 'handle'; readonly event: object } | { readonly kind: 'pass' } | { readonly kind: 'poison'; readonly error: string };

/** A handler's own failure, as opposed to the database's (which never dead-letters an event). */
class HandlerFailure extends Error {
  override readonly name = 'HandlerFailure';
}

/** Why an event that arrived inside a gap (see `late`) is a dead letter. */
const LATE = 'arrived after its aggregate went past it (a later event that waited for it was dead-lettered); kept to keep the order';

/**
 * Hands one subscriber the events of one publisher as they come off the
 * stream, effectively once and in each aggregate's order, whichever replica
 * receives what and however often (ADR 12). A batch is taken in one
 * transaction of the subscriber's schema that moves the aggregates' positions
 * (`event_positions`), records the handled events in the inbox and commits
 * the handlers' changes; only then is it acknowledged.
 */
export class StreamInbox {
  private readonly logger: Logger;
  private readonly positions: string;
  private readonly inbox: string;
  private readonly failures: string;
  private readonly gaps: string;
  private readonly eventNames: ReadonlySet<string>;
  private handler: EventSubscriber<object> | undefined;
  /** The forced dead letters under way (see `giveUpWaiting`): each waits for the one before. */
  private givingUp: Promise<void> = Promise.resolve();

  constructor(
    private readonly subscriber: RegisteredSubscriber,
    private readonly publisher: string,
    private readonly db: DataSource,
    private readonly transactions: TransactionRunner,
    private readonly deadLetters: OutboxStore,
    private readonly resolveHandler: () => EventSubscriber<object>,
    private readonly options: MessagingOptions,
    /** Where the subscription's consumer started: events before it were published before it existed. */
    private readonly startSequence: number,
    /** The jitter of retry back-offs: a seeded one makes a test's schedule replayable. */
    private readonly random: () => number = Math.random,
  ) {
    this.logger = new Logger(`${subscriber.module}.inbox`);
    this.positions = `${ident(subscriber.module)}.event_positions`;
    this.inbox = `${ident(subscriber.module)}.inbox`;
    this.failures = `${ident(subscriber.module)}.event_failures`;
    this.gaps = `${ident(subscriber.module)}.event_gaps`;
    this.eventNames = new Set(subscriber.subscription.events.map((event) => eventOptions(event).name));
  }

  /** Takes a batch in one transaction; if that fails, each event on its own, so one bad event holds back only its aggregate. */
  async receive(batch: readonly StreamedEvent[]): Promise<void> {
    const decoded = await Promise.all(batch.map((streamed) => this.decode(streamed)));
    try {
      await this.take(batch.map((streamed, index) => ({ streamed, decoded: decoded[index] })));
      return;
    } catch (error) {
      if (batch.length === 1) {
        await this.failed(batch[0], decoded[0], error);
        return;
      }
    }
    for (const [index, streamed] of batch.entries()) {
      try {
        await this.take([{ streamed, decoded: decoded[index] }]);
      } catch (error) {
        await this.failed(streamed, decoded[index], error);
      }
    }
  }

  private async decode(streamed: StreamedEvent): Promise<Decoded> {
    if (!this.eventNames.has(streamed.envelope.name)) return { kind: 'pass' };
    try {
      return { kind: 'handle', event: await decodeEvent(this.subscriber, streamed.envelope) };
    } catch (error) {
      if (error instanceof PoisonMessageError) return { kind: 'poison', error: error.message };
      throw error;
    }
  }

  private async take(items: ReadonlyArray<{ streamed: StreamedEvent; decoded: Decoded }>): Promise<void> {
    const published: string[] = [];
    /** Late events dead-lettered now (the others were dead-lettered before: redeliveries). */
    const lateKept = new Set<number>();
    const turns = await this.db.transaction(async (manager) => {
      const turns = await this.turns(manager, items);
      const handled: Array<{ streamed: StreamedEvent; event: object }> = [];
      for (const [index, { streamed, decoded }] of items.entries()) {
        if (turns[index] === 'late' && decoded.kind !== 'pass') {
          const reason = decoded.kind === 'poison' ? `${decoded.error}; ${LATE}` : LATE;
          if (await this.deadLetter(manager, streamed, reason, { once: true })) lateKept.add(index);
        }
        if (turns[index] !== 'next') continue;
        if (decoded.kind === 'handle') handled.push({ streamed, event: decoded.event });
        if (decoded.kind === 'poison') await this.deadLetter(manager, streamed, decoded.error);
      }
      const handler = (this.handler ??= this.resolveHandler());
      if (handled.length > 1 && handler.handleBatch) published.push(...(await this.handleBatch(manager, handler, handled)));
      else for (const { streamed, event } of handled) published.push(...(await this.handle(manager, streamed, event)));
      return turns;
    });
    this.transactions.afterCommit(published);
    const waitedTooLong: Array<{ streamed: StreamedEvent; decoded: Decoded }> = [];
    for (const [index, { streamed, decoded }] of items.entries()) {
      const turn = turns[index];
      if (turn === 'early') {
        if (streamed.deliveries >= this.options.maxAttempts * this.options.orderingWaitsPerAttempt) waitedTooLong.push({ streamed, decoded });
        else this.waitForTurn(streamed);
        continue;
      }
      streamed.ack();
      if (decoded.kind === 'pass') continue;
      const outcome = turn === 'next' ? (decoded.kind === 'handle' ? 'handled' : 'dead-lettered') : lateKept.has(index) ? 'dead-lettered' : 'duplicate';
      this.logTaken(streamed, outcome);
    }
    if (waitedTooLong.length > 0) {
      // Off the batch's path (it may wait for another replica's lock), one after another.
      this.givingUp = this.givingUp.then(() => this.giveUpWaiting(waitedTooLong));
    }
  }

  /**
   * Every event's turn, in two statements for the whole batch: read (and lock)
   * the positions of its aggregates, decide in stream order, then move the
   * positions and record the events to handle in the inbox. A position another
   * transaction holds counts as early, so replicas never wait on each other's locks.
   */
  private async turns(manager: EntityManager, items: ReadonlyArray<{ streamed: StreamedEvent; decoded: Decoded }>): Promise<Turn[]> {
    const runner = manager.queryRunner;
    const aggregates = [...new Set(items.map(({ streamed }) => streamed.envelope.aggregateId))].sort();
    const rows = await queryPrepared<{ aggregate_id: string; held: boolean; stream_seq: string }>(
      this.db,
      `${this.subscriber.module}.stream-positions`,
      `WITH held AS (
         SELECT aggregate_id FROM ${this.positions}
          WHERE subscriber = $1 AND publisher = $2 AND aggregate_id = ANY($3::text[])
          ORDER BY aggregate_id
          FOR UPDATE SKIP LOCKED
       )
       SELECT p.aggregate_id, h.aggregate_id IS NOT NULL AS held, p.stream_seq
         FROM ${this.positions} p LEFT JOIN held h ON h.aggregate_id = p.aggregate_id
        WHERE p.subscriber = $1 AND p.publisher = $2 AND p.aggregate_id = ANY($3::text[])`,
      [this.subscriber.id, this.publisher, aggregates],
      runner,
    );
    const positions = new Map<string, { busy: boolean; at: number }>(rows.map((row) => [row.aggregate_id, { busy: !row.held, at: Number(row.stream_seq) }]));
    const moved = new Map<string, number>();
    const seen = new Set<string>();
    const turns = items.map(({ streamed }): Turn => {
      const { envelope, sequence, previousSequence: previous } = streamed;
      const position = positions.get(envelope.aggregateId);
      if (position?.busy) return 'early';
      if (seen.has(envelope.id) || (position !== undefined && position.at >= sequence)) return 'taken';
      const next = previous === null || (position !== undefined ? position.at >= previous : previous < this.startSequence);
      if (!next) return 'early';
      positions.set(envelope.aggregateId, { busy: false, at: sequence });
      moved.set(envelope.aggregateId, sequence);
      seen.add(envelope.id);
      return 'next';
    });
    await this.findLate(items, turns, runner);
    if (moved.size === 0) return turns;
    const handled = items.flatMap(({ streamed, decoded }, index) => (turns[index] === 'next' && decoded.kind === 'handle' ? [streamed.envelope.id] : []));
    const recorded = await queryPrepared<{ event_id: string }>(
      this.db,
      `${this.subscriber.module}.stream-take`,
      `WITH moved AS (
         INSERT INTO ${this.positions} (subscriber, publisher, aggregate_id, stream_seq)
         SELECT $1, $2, m.aggregate_id, m.stream_seq FROM unnest($3::text[], $4::bigint[]) AS m (aggregate_id, stream_seq)
          ORDER BY m.aggregate_id
         ON CONFLICT (subscriber, publisher, aggregate_id)
         DO UPDATE SET stream_seq = greatest(${this.positions}.stream_seq, excluded.stream_seq), updated_at = now()
       )
       INSERT INTO ${this.inbox} (event_id, handler, publisher)
       SELECT e, $1, $2 FROM unnest($5::uuid[]) AS e
       ON CONFLICT DO NOTHING
       RETURNING event_id`,
      [this.subscriber.id, this.publisher, [...moved.keys()], [...moved.values()], handled],
      runner,
    );
    // Its turn, but handled before (the same event twice in the stream): its position moved, nothing else.
    const fresh = new Set(recorded.map((row) => row.event_id));
    return turns.map((turn, index) =>
      turn === 'next' && items[index].decoded.kind === 'handle' && !fresh.has(items[index].streamed.envelope.id) ? 'taken' : turn,
    );
  }

  /**
   * Marks `late` the events judged taken that lie in a gap their aggregate
   * went past (see `forceDeadLetter`). A look-up only when something looks
   * taken (a redelivery: rare), so the common batch pays nothing for it.
   */
  private async findLate(items: ReadonlyArray<{ streamed: StreamedEvent }>, turns: Turn[], runner: EntityManager['queryRunner']): Promise<void> {
    const seen = new Set<string>();
    const candidates = items.flatMap(({ streamed }, index) => {
      // The same event twice in one batch is a duplicate of the first, never late.
      const first = !seen.has(streamed.envelope.id);
      seen.add(streamed.envelope.id);
      return turns[index] === 'taken' && first ? [index] : [];
    });
    if (candidates.length === 0) return;
    const gaps = await this.gapsOf([...new Set(candidates.map((index) => items[index].streamed.envelope.aggregateId))], runner);
    const inGaps = candidates.filter((index) => inGap(gaps, items[index].streamed));
    if (inGaps.length === 0) return;
    const applied = await this.appliedOf(
      inGaps.map((index) => items[index].streamed.envelope.id),
      runner,
    );
    for (const index of inGaps) {
      if (!applied.has(items[index].streamed.envelope.id)) turns[index] = 'late';
    }
  }

  /**
   * Which of these events were handled: one can lie in a gap and still have
   * been taken, when its position row did not exist yet (nothing to lock) as
   * another replica's successor gave up waiting for it. Its redelivery is a duplicate.
   */
  private async appliedOf(eventIds: readonly string[], runner: EntityManager['queryRunner']): Promise<Set<string>> {
    const rows = await queryPrepared<{ event_id: string }>(
      this.db,
      `${this.subscriber.module}.stream-applied`,
      `SELECT event_id FROM ${this.inbox} WHERE handler = $1 AND event_id = ANY($2::uuid[])`,
      [this.subscriber.id, eventIds],
      runner,
    );
    return new Set(rows.map((row) => row.event_id));
  }

  /** The gaps these aggregates went past (see `forceDeadLetter`). */
  private gapsOf(aggregates: readonly string[], runner: EntityManager['queryRunner']): Promise<Gap[]> {
    return queryPrepared<Gap>(
      this.db,
      `${this.subscriber.module}.stream-gaps`,
      `SELECT aggregate_id, after_seq, through_seq FROM ${this.gaps}
        WHERE subscriber = $1 AND publisher = $2 AND aggregate_id = ANY($3::text[])`,
      [this.subscriber.id, this.publisher, aggregates],
      runner,
    );
  }

  /** The handler's batch form: one call for every event of the batch it takes. */
  private async handleBatch(
    manager: EntityManager,
    handler: EventSubscriber<object>,
    handled: ReadonlyArray<{ streamed: StreamedEvent; event: object }>,
  ): Promise<readonly string[]> {
    const [first] = handled;
    return inSpan(
      `${first.streamed.envelope.name} handle batch`,
      {
        kind: SpanKind.CONSUMER,
        parent: contextFrom(first.streamed.envelope.headers),
        attributes: { module: this.subscriber.module, 'messaging.consumer': this.subscriber.id, 'messaging.batch.message_count': handled.length },
      },
      async () => {
        try {
          const within = await this.transactions.within(manager, (tx) =>
            handler.handleBatch!(
              handled.map(({ streamed: { envelope }, event }) => ({
                event,
                context: { eventId: envelope.id, occurredAt: envelope.occurredAt, publisher: envelope.publisher, tx },
              })),
            ),
          );
          return within.published;
        } catch (error) {
          throw new HandlerFailure(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        }
      },
    );
  }

  private async handle(manager: EntityManager, streamed: StreamedEvent, event: object): Promise<readonly string[]> {
    const { envelope } = streamed;
    const handler = (this.handler ??= this.resolveHandler());
    return inSpan(
      `${envelope.name} handle`,
      {
        kind: SpanKind.CONSUMER,
        parent: contextFrom(envelope.headers),
        attributes: {
          module: this.subscriber.module,
          'messaging.consumer': this.subscriber.id,
          'event.id': envelope.id,
          'messaging.message.delivery_count': streamed.deliveries,
        },
      },
      async () => {
        try {
          const within = await this.transactions.within(manager, (tx) =>
            handler.handle(event, { eventId: envelope.id, occurredAt: envelope.occurredAt, publisher: envelope.publisher, tx }),
          );
          return within.published;
        } catch (error) {
          throw new HandlerFailure(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        }
      },
    );
  }

  /** Keeps the event as a dead letter in this module's outbox; the aggregate's next events go on. */
  private async deadLetter(manager: EntityManager, streamed: StreamedEvent, error: string, options: { once?: boolean } = {}): Promise<boolean> {
    // `deliveries` here: the handler's failed attempts when it gave up, else how often the stream handed it over.
    const written = await this.deadLetters.writeDeadLetter(manager, streamed.envelope, this.subscriber.id, streamed.deliveries, error, options);
    if (!written) return false;
    const { envelope } = streamed;
    this.logger.error(
      `dead letter: ${envelope.name} ${envelope.id} (aggregate ${envelope.aggregateId}) for ${this.subscriber.id} ` +
        `after ${streamed.deliveries} attempt(s): ${error}; replay with: npm run outbox -- replay ${this.subscriber.module} ${envelope.id}`,
    );
    return true;
  }

  /** A failure of the event on its own: retried with back-off, dead-lettered once its handler has failed too often. */
  private async failed(streamed: StreamedEvent, decoded: Decoded, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const { envelope } = streamed;
    // Only the handler's own failures count: a database that is down never dead-letters an event.
    const attempts = error instanceof HandlerFailure ? await this.countFailure(envelope.id).catch(() => 0) : 0;
    if (decoded.kind === 'handle' && attempts >= this.options.maxAttempts) {
      await this.giveUp(streamed, message, attempts);
      return;
    }
    const retryIn = backoffMs(this.options, Math.max(attempts, 1), this.random);
    streamed.retry(retryIn);
    const level = error instanceof HandlerFailure ? 'warn' : 'debug';
    this.logger[level](`${envelope.name} ${envelope.id} for ${this.subscriber.id} failed (attempt ${attempts}), retry in ${retryIn} ms: ${message}`);
  }

  private async countFailure(eventId: string): Promise<number> {
    const [row] = await queryPrepared<{ attempts: number }>(
      this.db,
      `${this.subscriber.module}.stream-failure`,
      `INSERT INTO ${this.failures} (subscriber, event_id, attempts) VALUES ($1, $2, 1)
       ON CONFLICT (subscriber, event_id) DO UPDATE SET attempts = ${this.failures}.attempts + 1, updated_at = now()
       RETURNING attempts`,
      [this.subscriber.id, eventId],
    );
    return row.attempts;
  }

  private async giveUp(streamed: StreamedEvent, error: string, attempts: number): Promise<void> {
    try {
      await this.take([{ streamed: { ...streamed, deliveries: attempts }, decoded: { kind: 'poison', error } }]);
    } catch (failure) {
      streamed.retry(backoffMs(this.options, streamed.deliveries, this.random));
      this.logger.warn(`could not dead-letter ${streamed.envelope.id} yet: ${(failure as Error).message}`);
    }
  }

  /** Not its turn: soon again. */
  private waitForTurn(streamed: StreamedEvent): void {
    streamed.retry(Math.min(100, 5 * 2 ** Math.min(streamed.deliveries - 1, 5)));
  }

  /**
   * Events that waited too long for their turn: their predecessor may never
   * come (it left the stream unread). Taken in stream order, one at a time,
   * and only the first of each aggregate: the later ones wait for its verdict
   * (once it is taken or dead-lettered, theirs may be the next turn). Racing
   * each other for the position, a later event could win and leave the
   * earlier one behind the position: a dead letter for each where one, or
   * none, would do, and a schedule that depends on timing.
   */
  private async giveUpWaiting(items: ReadonlyArray<{ streamed: StreamedEvent; decoded: Decoded }>): Promise<void> {
    const first = new Set<string>();
    for (const { streamed, decoded } of [...items].sort((a, b) => a.streamed.sequence - b.streamed.sequence)) {
      const { aggregateId } = streamed.envelope;
      if (first.has(aggregateId)) {
        this.waitForTurn(streamed);
        continue;
      }
      first.add(aggregateId);
      await this.forceDeadLetter(streamed, decoded);
    }
  }

  /**
   * Gives up waiting for an event's predecessor: the event is dead-lettered
   * (one this subscriber does not handle is only passed), its aggregate moves
   * past it, and the positions it went past untaken are kept as a gap, so that
   * a predecessor that does come after all is dead-lettered too, not taken for
   * a duplicate (ADR 20). Decided under the position's lock: if the
   * predecessor was taken meanwhile, the event is simply taken next.
   */
  private async forceDeadLetter(streamed: StreamedEvent, decoded: Decoded): Promise<void> {
    const { envelope, sequence, previousSequence } = streamed;
    try {
      const verdict = await this.db.transaction(async (manager): Promise<'taken' | 'next' | 'skipped' | 'late' | 'kept'> => {
        // A row at the start's edge says what no row says (a predecessor before the start counts as taken), and can be locked.
        await manager.query(
          `INSERT INTO ${this.positions} (subscriber, publisher, aggregate_id, stream_seq) VALUES ($1, $2, $3, $4)
           ON CONFLICT (subscriber, publisher, aggregate_id) DO NOTHING`,
          [this.subscriber.id, this.publisher, envelope.aggregateId, this.startSequence - 1],
        );
        const [{ stream_seq: at }] = await manager.query<Array<{ stream_seq: string | number }>>(
          `SELECT stream_seq FROM ${this.positions} WHERE subscriber = $1 AND publisher = $2 AND aggregate_id = $3 FOR UPDATE`,
          [this.subscriber.id, this.publisher, envelope.aggregateId],
        );
        const position = Number(at);
        if (position >= sequence) {
          // Past it since it was found early: taken by another replica, or gone past in a gap (another
          // replica's successor gave up waiting first), which makes it late (see `take`), not a duplicate.
          if (!inGap(await this.gapsOf([envelope.aggregateId], manager.queryRunner), streamed)) return 'taken';
          if ((await this.appliedOf([envelope.id], manager.queryRunner)).size > 0) return 'taken';
          if (decoded.kind === 'pass') return 'late';
          const reason = decoded.kind === 'poison' ? `${decoded.error}; ${LATE}` : LATE;
          return (await this.deadLetter(manager, streamed, reason, { once: true })) ? 'kept' : 'late';
        }
        if (previousSequence === null || position >= previousSequence) return 'next';
        await manager.query(
          `INSERT INTO ${this.gaps} (subscriber, publisher, aggregate_id, after_seq, through_seq) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT DO NOTHING`,
          [this.subscriber.id, this.publisher, envelope.aggregateId, position, previousSequence],
        );
        await manager.query(`UPDATE ${this.positions} SET stream_seq = $4, updated_at = now() WHERE subscriber = $1 AND publisher = $2 AND aggregate_id = $3`, [
          this.subscriber.id,
          this.publisher,
          envelope.aggregateId,
          sequence,
        ]);
        if (decoded.kind !== 'pass') {
          const why = `its aggregate's previous event (stream position ${previousSequence}) never arrived`;
          await this.deadLetter(manager, streamed, decoded.kind === 'poison' ? `${decoded.error}; ${why}` : why);
        }
        return 'skipped';
      });
      if (verdict === 'next') {
        // Its predecessor was taken meanwhile: its turn now.
        streamed.retry(0);
        return;
      }
      streamed.ack();
      // `late`: kept before (a redelivery of a late one), so a duplicate now.
      if (decoded.kind !== 'pass') this.logTaken(streamed, verdict === 'skipped' || verdict === 'kept' ? 'dead-lettered' : 'duplicate');
    } catch (error) {
      streamed.retry(1_000);
      this.logger.warn(`could not dead-letter ${envelope.id} yet: ${(error as Error).message}`);
    }
  }

  private logTaken(streamed: StreamedEvent, outcome: 'handled' | 'duplicate' | 'dead-lettered'): void {
    const { envelope } = streamed;
    const orderId = envelope.payload.orderId;
    // After the commit, outside the handling span: the line still carries the event's trace.
    // A handled event at debug, as in process (see Inbox.logOutcome).
    inTraceOf(envelope.headers, () =>
      this.logger[outcome === 'handled' ? 'debug' : 'log']({
        msg: TAKEN_LINES[outcome],
        event: envelope.name,
        eventId: envelope.id,
        subscriber: this.subscriber.id,
        aggregateId: envelope.aggregateId,
        streamSequence: streamed.sequence,
        ...(typeof orderId === 'string' ? { orderId } : {}),
      }),
    );
  }
}

/** Stream positions an aggregate went past without taking them: `(after_seq, through_seq]`. */
interface Gap {
  readonly aggregate_id: string;
  readonly after_seq: string;
  readonly through_seq: string;
}

/** Whether the event lies in one of the gaps its aggregate went past. */
function inGap(gaps: readonly Gap[], { envelope, sequence }: StreamedEvent): boolean {
  return gaps.some((gap) => gap.aggregate_id === envelope.aggregateId && Number(gap.after_seq) < sequence && sequence <= Number(gap.through_seq));
}

const TAKEN_LINES = { handled: 'handled event', duplicate: 'skipped duplicate event', 'dead-lettered': 'dead-lettered event' } as const;
