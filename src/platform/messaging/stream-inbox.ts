import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { queryPrepared } from '../database/prepared-query.js';
import { ident } from '../database/provisioning.js';
import { contextFrom, inSpan, SpanKind } from '../observability/tracing.js';
import type { RegisteredSubscriber } from './event-registry.js';
import type { StreamedEvent } from './event-stream.js';
import { decodeEvent } from './inbox.js';
import { eventOptions } from './integration-event.js';
import { PoisonMessageError } from './message-bus.js';
import { backoffMs, type MessagingOptions } from './messaging-options.js';
import type { ModuleTransactions } from './module-transactions.js';
import type { OutboxStore } from './outbox.store.js';
import type { EventHandler } from './subscription.js';

/**
 * Where an event stands for this subscriber:
 * - `next`: its turn (the aggregate's previous event is taken, or was published
 *   before the subscription existed): take it;
 * - `taken`: already taken (a redelivery, or the same event twice in the stream);
 * - `early`: an earlier event of its aggregate is not taken yet (in another
 *   replica's hands, or waiting for a retry): try again shortly.
 */
type Turn = 'next' | 'taken' | 'early';

/** An event decoded for this subscriber: its own kind, one it does not handle, or one it can never read. */
type Decoded =
  | { readonly kind: 'handle'; readonly event: object }
  | { readonly kind: 'pass' }
  | { readonly kind: 'poison'; readonly error: string };

/** A handler's own failure, as opposed to the database's (which never dead-letters an event). */
class HandlerFailure extends Error {
  override readonly name = 'HandlerFailure';
}

/** Ordering waits before an event whose predecessor never comes is dead-lettered (see `early`). */
const MAX_EARLY_DELIVERIES_PER_ATTEMPT = 50;

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
  private readonly eventNames: ReadonlySet<string>;
  private handler: EventHandler<object> | undefined;

  constructor(
    private readonly subscriber: RegisteredSubscriber,
    private readonly publisher: string,
    private readonly db: DataSource,
    private readonly transactions: ModuleTransactions,
    private readonly deadLetters: OutboxStore,
    private readonly resolveHandler: () => EventHandler<object>,
    private readonly options: MessagingOptions,
    /** Where the subscription's consumer started: events before it were published before it existed. */
    private readonly startSequence: number,
  ) {
    this.logger = new Logger(`${subscriber.module}.inbox`);
    this.positions = `${ident(subscriber.module)}.event_positions`;
    this.inbox = `${ident(subscriber.module)}.inbox`;
    this.failures = `${ident(subscriber.module)}.event_failures`;
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
    let published = 0;
    const turns = await this.db.transaction(async (manager) => {
      const turns: Turn[] = [];
      for (const { streamed, decoded } of items) {
        const turn = await this.turn(manager, streamed, decoded.kind === 'handle');
        turns.push(turn);
        if (turn !== 'next') continue;
        if (decoded.kind === 'handle') published += await this.handle(manager, streamed, decoded.event);
        if (decoded.kind === 'poison') await this.deadLetter(manager, streamed, decoded.error);
      }
      return turns;
    });
    this.transactions.afterCommit(published);
    for (const [index, { streamed, decoded }] of items.entries()) {
      const turn = turns[index];
      if (turn === 'early') {
        this.early(streamed);
        continue;
      }
      streamed.ack();
      if (decoded.kind !== 'pass') this.logTaken(streamed, turn === 'next' && decoded.kind === 'handle' ? 'handled event' : turn === 'taken' ? 'skipped duplicate event' : 'dead-lettered event');
    }
  }

  /**
   * One statement: decides the event's turn, and if it is next, moves the
   * aggregate's position and (for an event this subscriber handles) records it
   * in the inbox. A position another transaction holds counts as early, so
   * replicas never wait on each other's locks.
   */
  private async turn(manager: EntityManager, streamed: StreamedEvent, handles: boolean): Promise<Turn> {
    const { envelope } = streamed;
    const [row] = await queryPrepared<{ turn: Turn; recorded: boolean }>(
      this.db,
      `${this.subscriber.module}.stream-turn`,
      `WITH held AS (
         SELECT stream_seq FROM ${this.positions}
          WHERE subscriber = $1 AND publisher = $2 AND aggregate_id = $3
          FOR UPDATE SKIP LOCKED
       ), known AS (
         SELECT EXISTS (SELECT 1 FROM ${this.positions} WHERE subscriber = $1 AND publisher = $2 AND aggregate_id = $3) AS known
       ), decided AS (
         SELECT CASE
                  WHEN k.known AND NOT EXISTS (SELECT 1 FROM held) THEN 'early'
                  WHEN (SELECT stream_seq FROM held) >= $5::bigint THEN 'taken'
                  WHEN $6::bigint IS NULL OR (SELECT stream_seq FROM held) >= $6::bigint THEN 'next'
                  WHEN NOT k.known AND $6::bigint < $7::bigint THEN 'next'
                  ELSE 'early'
                END AS turn
           FROM known k
       ), moved AS (
         INSERT INTO ${this.positions} (subscriber, publisher, aggregate_id, stream_seq)
         SELECT $1, $2, $3, $5 FROM decided WHERE turn = 'next'
         ON CONFLICT (subscriber, publisher, aggregate_id)
         DO UPDATE SET stream_seq = greatest(${this.positions}.stream_seq, excluded.stream_seq), updated_at = now()
       ), recorded AS (
         INSERT INTO ${this.inbox} (event_id, handler, publisher)
         SELECT $4, $1, $2 FROM decided WHERE turn = 'next' AND $8::boolean
         ON CONFLICT DO NOTHING
         RETURNING event_id
       )
       SELECT d.turn, EXISTS (SELECT 1 FROM recorded) AS recorded FROM decided d`,
      [
        this.subscriber.id,
        this.publisher,
        envelope.aggregateId,
        envelope.id,
        streamed.sequence,
        streamed.previousSequence,
        this.startSequence,
        handles,
      ],
      manager.queryRunner,
    );
    // Its turn, but handled before (the same event twice in the stream): its position moved, nothing else.
    if (row.turn === 'next' && handles && !row.recorded) return 'taken';
    return row.turn;
  }

  private async handle(manager: EntityManager, streamed: StreamedEvent, event: object): Promise<number> {
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
          const { count } = await this.transactions.within(manager, (tx) =>
            handler.handle(event, { eventId: envelope.id, occurredAt: envelope.occurredAt, publisher: envelope.publisher, tx }),
          );
          return count;
        } catch (error) {
          throw new HandlerFailure(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        }
      },
    );
  }

  /** Keeps the event as a dead letter in this module's outbox; the aggregate's next events go on. */
  private async deadLetter(manager: EntityManager, streamed: StreamedEvent, error: string): Promise<void> {
    // `deliveries` here: the handler's failed attempts when it gave up, else how often the stream handed it over.
    await this.deadLetters.writeDeadLetter(manager, streamed.envelope, this.subscriber.id, streamed.deliveries, error);
    const { envelope } = streamed;
    this.logger.error(
      `dead letter: ${envelope.name} ${envelope.id} (aggregate ${envelope.aggregateId}) for ${this.subscriber.id} ` +
        `after ${streamed.deliveries} attempt(s): ${error}; replay with: npm run outbox -- replay ${this.subscriber.module} ${envelope.id}`,
    );
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
    const retryIn = backoffMs(this.options, Math.max(attempts, 1));
    streamed.retry(retryIn);
    const level = error instanceof HandlerFailure ? 'warn' : 'debug';
    this.logger[level](
      `${envelope.name} ${envelope.id} for ${this.subscriber.id} failed (attempt ${attempts}), retry in ${retryIn} ms: ${message}`,
    );
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
      streamed.retry(backoffMs(this.options, streamed.deliveries));
      this.logger.warn(`could not dead-letter ${streamed.envelope.id} yet: ${(failure as Error).message}`);
    }
  }

  /** Not its turn: soon again, and dead-lettered only if its predecessor never comes (it left the stream unread). */
  private early(streamed: StreamedEvent): void {
    if (streamed.deliveries >= this.options.maxAttempts * MAX_EARLY_DELIVERIES_PER_ATTEMPT) {
      void this.forceDeadLetter(streamed);
      return;
    }
    streamed.retry(Math.min(100, 5 * 2 ** Math.min(streamed.deliveries - 1, 5)));
  }

  /** Dead-letters an event whose turn never came, and moves its aggregate past it. */
  private async forceDeadLetter(streamed: StreamedEvent): Promise<void> {
    try {
      await this.db.transaction(async (manager) => {
        await this.deadLetter(manager, streamed, `its aggregate's previous event (stream position ${streamed.previousSequence}) never arrived`);
        await manager.query(
          `INSERT INTO ${this.positions} (subscriber, publisher, aggregate_id, stream_seq) VALUES ($1, $2, $3, $4)
           ON CONFLICT (subscriber, publisher, aggregate_id)
           DO UPDATE SET stream_seq = greatest(${this.positions}.stream_seq, excluded.stream_seq), updated_at = now()`,
          [this.subscriber.id, this.publisher, streamed.envelope.aggregateId, streamed.sequence],
        );
      });
      streamed.ack();
    } catch (error) {
      streamed.retry(1_000);
      this.logger.warn(`could not dead-letter ${streamed.envelope.id} yet: ${(error as Error).message}`);
    }
  }

  private logTaken(streamed: StreamedEvent, msg: string): void {
    const { envelope } = streamed;
    const orderId = envelope.payload.orderId;
    this.logger.log({
      msg,
      event: envelope.name,
      eventId: envelope.id,
      subscriber: this.subscriber.id,
      aggregateId: envelope.aggregateId,
      streamSequence: streamed.sequence,
      ...(typeof orderId === 'string' ? { orderId } : {}),
    });
  }
}
