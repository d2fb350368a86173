import { Logger, type Type } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import type { DataSource, EntityManager } from 'typeorm';
import { queryPrepared } from '../database/prepared-query.js';
import { ident } from '../database/provisioning.js';
import { describeFieldErrors } from '../validation/field-errors.js';
import { validateInput } from '../validation/validate-input.js';
import { inSpan, SpanKind } from '../observability/tracing.js';
import type { RegisteredSubscriber } from './event-registry.js';
import { eventOptions, type EventEnvelope } from '../contracts/integration-event.js';
import { type DeliveryClaim, PoisonMessageError } from './message-bus.js';
import type { TransactionRunner } from './transaction-runner.js';
import type { EventSubscriber } from '../modules/subscription.js';

export type InboxOutcome = 'handled' | 'duplicate';

/**
 * Hands events to one subscriber of a module hosted here, effectively once:
 * the handler runs in a transaction of the subscriber's own schema that also
 * records `(event id, subscriber)` in its inbox; a second delivery of the same
 * event finds the record and changes nothing.
 *
 * And in each aggregate's order, whoever hands the events over: the same
 * statement keeps, per outbox and aggregate, how far the subscriber took it
 * and by which relay claim (`inbox_claims`), and refuses an event behind that
 * by an older claim. A relay held past its lease, whose claim others took over
 * and went past (dead-lettered, then the aggregate's next events), is refused
 * here, in the subscriber's own transaction, whatever it checked before
 * (ADR 20). The refusal is a PoisonMessageError: its relay no longer holds
 * the claim, so it records nothing and the others' record stands.
 */
export class Inbox {
  private readonly table: string;
  private readonly claims: string;
  private readonly logger: Logger;

  constructor(
    private readonly subscriber: RegisteredSubscriber,
    private readonly db: DataSource,
    private readonly transactions: TransactionRunner,
    private readonly resolveHandler: () => EventSubscriber<object>,
  ) {
    this.table = `${ident(subscriber.module)}.inbox`;
    this.claims = `${ident(subscriber.module)}.inbox_claims`;
    this.logger = new Logger(`${subscriber.module}.inbox`);
  }

  /** One event; `claim`, the relay's claim that hands it over (null: not fenced). */
  receive(envelope: EventEnvelope, claim: DeliveryClaim | null = null): Promise<InboxOutcome> {
    return inSpan(
      `${envelope.name} handle`,
      {
        kind: SpanKind.CONSUMER,
        attributes: { module: this.subscriber.module, 'messaging.consumer': this.subscriber.id, 'event.id': envelope.id },
      },
      () => this.handle(envelope, claim),
    );
  }

  private async handle(envelope: EventEnvelope, claim: DeliveryClaim | null): Promise<InboxOutcome> {
    const event = await this.decode(envelope);
    const handler = this.resolveHandler();
    const claims = claim ? [claim] : undefined;
    if (handler.handleStatement) {
      const outcome: InboxOutcome = (await this.recordAndHandle(handler, [envelope], [event], claims)).has(envelope.id) ? 'handled' : 'duplicate';
      this.logOutcome(envelope, outcome === 'handled');
      return outcome;
    }
    let published: readonly string[] = [];
    const outcome = await this.db.transaction(async (manager): Promise<InboxOutcome> => {
      const recorded = await this.record(`${this.subscriber.module}.inbox-record`, [envelope], claims, manager);
      if (recorded.size === 0) return 'duplicate';
      const within = await this.transactions.within(manager, (tx) =>
        handler.handle(event, { eventId: envelope.id, occurredAt: envelope.occurredAt, publisher: envelope.publisher, tx }),
      );
      published = within.published;
      return 'handled';
    });
    this.transactions.afterCommit(published);
    this.logOutcome(envelope, outcome === 'handled');
    return outcome;
  }

  /**
   * Several events (at most one per aggregate: the relay's batch) in one
   * transaction: one inbox statement, then the handler's batch form if it has
   * one. All or nothing: if any fails, the caller delivers them one by one.
   */
  async receiveBatch(envelopes: readonly EventEnvelope[], claims?: readonly DeliveryClaim[]): Promise<void> {
    const events = await Promise.all(envelopes.map((envelope) => this.decode(envelope)));
    const handler = this.resolveHandler();
    if (handler.handleStatement) {
      const fresh = await this.recordAndHandle(handler, envelopes, events, claims);
      for (const envelope of envelopes) this.logOutcome(envelope, fresh.has(envelope.id));
      return;
    }
    let published: readonly string[] = [];
    const fresh = await this.db.transaction(async (manager) => {
      const ids = await this.record(`${this.subscriber.module}.inbox-record-batch`, envelopes, claims, manager);
      const handled = envelopes.flatMap((envelope, index) => (ids.has(envelope.id) ? [{ envelope, event: events[index] }] : []));
      const within = await this.transactions.within(manager, async (tx) => {
        const contexts = handled.map(({ envelope, event }) => ({
          event,
          context: { eventId: envelope.id, occurredAt: envelope.occurredAt, publisher: envelope.publisher, tx },
        }));
        if (contexts.length > 1 && handler.handleBatch) await handler.handleBatch(contexts);
        else for (const { event, context } of contexts) await handler.handle(event, context);
      });
      published = within.published;
      return ids;
    });
    this.transactions.afterCommit(published);
    for (const envelope of envelopes) this.logOutcome(envelope, fresh.has(envelope.id));
  }

  /**
   * The inbox record and the subscriber's handling in one statement (see
   * `EventSubscriber.handleStatement`); answers the ids it recorded, which the
   * handling acted on: the others were duplicates.
   */
  private async recordAndHandle(
    handler: EventSubscriber<object>,
    envelopes: readonly EventEnvelope[],
    events: readonly object[],
    claims: readonly DeliveryClaim[] | undefined,
  ): Promise<Set<string>> {
    const params = this.recordParams(envelopes, claims);
    const handling = handler.handleStatement!(
      envelopes.map((envelope, index) => ({ event: events[index], eventId: envelope.id })),
      params.length + 1,
    );
    // The handling joins `inbox_recorded`: a duplicate or a refused (late) event is not handled.
    const rows = await queryPrepared<RecordedRow>(
      this.db,
      `${this.subscriber.module}.inbox-${handling.name}`,
      `WITH ${RECORD_CTES(this.table, this.claims)}, ${handling.ctes}
       ${RECORD_OUTCOMES(this.table)}`,
      [...params, ...handling.params],
    );
    return this.recorded(rows);
  }

  /**
   * Records events in the inbox (see `RECORD_CTES`) with the caller's transaction;
   * answers the ids recorded (the others were duplicates), or throws if one came late.
   */
  private async record(
    name: string,
    envelopes: readonly EventEnvelope[],
    claims: readonly DeliveryClaim[] | undefined,
    manager: EntityManager,
  ): Promise<Set<string>> {
    const rows = await queryPrepared<RecordedRow>(
      this.db,
      name,
      `WITH ${RECORD_CTES(this.table, this.claims)} ${RECORD_OUTCOMES(this.table)}`,
      this.recordParams(envelopes, claims),
      manager.queryRunner,
    );
    return this.recorded(rows);
  }

  /** `RECORD_CTES`' parameters, $1..$7. */
  private recordParams(envelopes: readonly EventEnvelope[], claims: readonly DeliveryClaim[] | undefined): unknown[] {
    const claim = (index: number) => claims?.[index];
    return [
      envelopes.map((envelope) => envelope.id),
      this.subscriber.id,
      envelopes.map((envelope) => envelope.publisher),
      envelopes.map((_, index) => claim(index)?.outbox ?? null),
      envelopes.map((envelope) => envelope.aggregateId),
      envelopes.map((_, index) => claim(index)?.position ?? null),
      envelopes.map((_, index) => claim(index)?.token ?? null),
    ];
  }

  /** The ids recorded; a late one refuses the whole hand-over (rolled back with it, where a transaction is open). */
  private recorded(rows: readonly RecordedRow[]): Set<string> {
    const late = rows.filter((row) => row.late);
    if (late.length > 0) {
      throw new PoisonMessageError(
        `${this.subscriber.id} refused ${late.map((row) => row.event_id).join(', ')}: handed over by a claim older than ` +
          'a later event of its aggregate already taken (a relay held past its lease; ADR 20)',
      );
    }
    return new Set(rows.map((row) => row.event_id));
  }

  /**
   * A handled event is a debug line (LOG_LEVEL=debug): one line per event of every
   * subscriber was, measured, a good part of what a subscriber cost under load,
   * and the event's trace already shows its handling. A duplicate is worth an
   * operator's eye (a redelivery after a crash or a lost acknowledgement).
   */
  private logOutcome(envelope: EventEnvelope, handled: boolean): void {
    const orderId = envelope.payload.orderId;
    const line = {
      msg: handled ? 'handled event' : 'skipped duplicate event',
      event: envelope.name,
      eventId: envelope.id,
      subscriber: this.subscriber.id,
      aggregateId: envelope.aggregateId,
      ...(typeof orderId === 'string' ? { orderId } : {}),
    };
    if (handled) this.logger.debug(line);
    else this.logger.log(line);
  }

  private decode(envelope: EventEnvelope): Promise<object> {
    return decodeEvent(this.subscriber, envelope);
  }
}

interface RecordedRow {
  readonly event_id: string;
  readonly late: boolean;
}

/**
 * The inbox record of events `$1` (publishers `$3`, aggregates `$5`) for the
 * handler `$2`, fenced by the claims that hand them over (outboxes `$4`, the
 * events' positions there `$6`, claim tokens `$7`; null: unfenced), as CTEs:
 * `inbox_recorded` holds the ids recorded.
 *
 * Per outbox and aggregate, `inbox_claims` keeps the furthest position taken
 * and the token of the claim that took it. A hand-over behind that position
 * by an older claim is refused (its event is not recorded): its claim was
 * made before the aggregate went past it, so another relay took it over and
 * gave up on it or delivered it since. Behind it by a newer claim, it is an
 * operator's replay (or an event whose transaction committed after a later
 * one's): taken, where it comes. The row stays locked until the transaction
 * ends, so two hand-overs of one aggregate are decided one after the other.
 */
const RECORD_CTES = (inbox: string, claims: string) => `inbox_handed AS (
         SELECT * FROM unnest($1::uuid[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])
                AS e (event_id, publisher, outbox, aggregate_id, position, claim)
       ), inbox_fenced AS (
         INSERT INTO ${claims} AS f (handler, outbox, aggregate_id, position, claim)
         SELECT $2, h.outbox, h.aggregate_id, h.position, h.claim FROM inbox_handed h WHERE h.claim IS NOT NULL
         ON CONFLICT (handler, outbox, aggregate_id) DO UPDATE
            SET position = greatest(f.position, excluded.position),
                claim = CASE WHEN excluded.position > f.position THEN excluded.claim
                             WHEN excluded.position = f.position THEN greatest(f.claim, excluded.claim)
                             ELSE f.claim END,
                updated_at = now()
          WHERE NOT (excluded.position < f.position AND excluded.claim < f.claim)
         RETURNING f.outbox, f.aggregate_id
       ), inbox_recorded AS (
         INSERT INTO ${inbox} (event_id, handler, publisher)
         SELECT h.event_id, $2, h.publisher FROM inbox_handed h
          WHERE h.claim IS NULL OR EXISTS (SELECT 1 FROM inbox_fenced f WHERE f.outbox = h.outbox AND f.aggregate_id = h.aggregate_id)
         ON CONFLICT DO NOTHING RETURNING event_id
       )`;

/**
 * What `RECORD_CTES` did: the ids recorded, and those refused as late (a stale
 * claim that is not a redelivery of an event already recorded).
 */
const RECORD_OUTCOMES = (inbox: string) => `SELECT event_id, false AS late FROM inbox_recorded
       UNION ALL
       SELECT h.event_id, true FROM inbox_handed h
        WHERE h.claim IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM inbox_fenced f WHERE f.outbox = h.outbox AND f.aggregate_id = h.aggregate_id)
          AND NOT EXISTS (SELECT 1 FROM ${inbox} i WHERE i.event_id = h.event_id AND i.handler = $2)`;

/**
 * The payload, checked against the subscriber's event class: in-process exactly
 * as from the network. A newer version of the event is read as the one the
 * subscriber knows: versions only add fields (the contract gate of `npm run
 * verify` refuses any other change), so the fields it does not know are dropped.
 */
export async function decodeEvent(subscriber: RegisteredSubscriber, envelope: EventEnvelope): Promise<object> {
  const type = subscriber.subscription.events.find((event) => eventOptions(event).name === envelope.name);
  if (type === undefined) throw new PoisonMessageError(`${subscriber.id} does not handle ${envelope.name}`);
  const { name, version } = eventOptions(type);
  if (!Number.isInteger(envelope.version) || envelope.version < version) {
    throw new PoisonMessageError(`${subscriber.id} handles ${name} v${version}, got ${envelope.name} v${envelope.version}`);
  }
  const payload = envelope.version > version ? knownFields(type, envelope.payload) : envelope.payload;
  const checked = await validateInput(type, payload);
  if (!checked.ok) throw new PoisonMessageError(`invalid ${name} payload: ${describeFieldErrors(checked.errors)}`);
  return checked.value;
}

const declaredFields = new WeakMap<Function, ReadonlySet<string>>();

/** The payload's fields that the event class declares (validates). */
function knownFields(type: Type<object>, payload: Record<string, unknown>): Record<string, unknown> {
  let fields = declaredFields.get(type);
  if (fields === undefined) {
    fields = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(type, '', true, false)
        .map((m) => m.propertyName),
    );
    declaredFields.set(type, fields);
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return payload;
  return Object.fromEntries(Object.entries(payload).filter(([key]) => fields.has(key)));
}
