import { Logger, type Type } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import type { DataSource } from 'typeorm';
import { queryPrepared } from '../database/prepared-query.js';
import { ident } from '../database/provisioning.js';
import { describeFieldErrors } from '../validation/field-errors.js';
import { validateInput } from '../validation/validate-input.js';
import { inSpan, SpanKind } from '../observability/tracing.js';
import type { RegisteredSubscriber } from './event-registry.js';
import { eventOptions, type EventEnvelope } from '../contracts/integration-event.js';
import { PoisonMessageError } from './message-bus.js';
import type { TransactionRunner } from './transaction-runner.js';
import type { EventSubscriber } from '../modules/subscription.js';

export type InboxOutcome = 'handled' | 'duplicate';

/**
 * Hands events to one subscriber of a module hosted here, effectively once:
 * the handler runs in a transaction of the subscriber's own schema that also
 * records `(event id, subscriber)` in its inbox; a second delivery of the same
 * event finds the record and changes nothing.
 */
export class Inbox {
  private readonly table: string;
  private readonly logger: Logger;

  constructor(
    private readonly subscriber: RegisteredSubscriber,
    private readonly db: DataSource,
    private readonly transactions: TransactionRunner,
    private readonly resolveHandler: () => EventSubscriber<object>,
  ) {
    this.table = `${ident(subscriber.module)}.inbox`;
    this.logger = new Logger(`${subscriber.module}.inbox`);
  }

  receive(envelope: EventEnvelope): Promise<InboxOutcome> {
    return inSpan(
      `${envelope.name} handle`,
      {
        kind: SpanKind.CONSUMER,
        attributes: { module: this.subscriber.module, 'messaging.consumer': this.subscriber.id, 'event.id': envelope.id },
      },
      () => this.handle(envelope),
    );
  }

  private async handle(envelope: EventEnvelope): Promise<InboxOutcome> {
    const event = await this.decode(envelope);
    const handler = this.resolveHandler();
    if (handler.handleStatement) {
      const outcome: InboxOutcome = (await this.recordAndHandle(handler, [envelope], [event])).has(envelope.id) ? 'handled' : 'duplicate';
      this.logOutcome(envelope, outcome === 'handled');
      return outcome;
    }
    let published: readonly string[] = [];
    const outcome = await this.db.transaction(async (manager): Promise<InboxOutcome> => {
      const recorded = await queryPrepared(
        this.db,
        `${this.subscriber.module}.inbox-record`,
        `INSERT INTO ${this.table} (event_id, handler, publisher) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING event_id`,
        [envelope.id, this.subscriber.id, envelope.publisher],
        manager.queryRunner,
      );
      if (recorded.length === 0) return 'duplicate';
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
  async receiveBatch(envelopes: readonly EventEnvelope[]): Promise<void> {
    const events = await Promise.all(envelopes.map((envelope) => this.decode(envelope)));
    const handler = this.resolveHandler();
    if (handler.handleStatement) {
      const fresh = await this.recordAndHandle(handler, envelopes, events);
      for (const envelope of envelopes) this.logOutcome(envelope, fresh.has(envelope.id));
      return;
    }
    let published: readonly string[] = [];
    const fresh = await this.db.transaction(async (manager) => {
      const recorded = await queryPrepared<{ event_id: string }>(
        this.db,
        `${this.subscriber.module}.inbox-record-batch`,
        `INSERT INTO ${this.table} (event_id, handler, publisher)
         SELECT e.id, $2, e.publisher FROM unnest($1::uuid[], $3::text[]) AS e (id, publisher)
         ON CONFLICT DO NOTHING RETURNING event_id`,
        [envelopes.map((envelope) => envelope.id), this.subscriber.id, envelopes.map((envelope) => envelope.publisher)],
        manager.queryRunner,
      );
      const ids = new Set(recorded.map((row) => row.event_id));
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
  ): Promise<Set<string>> {
    const handling = handler.handleStatement!(
      envelopes.map((envelope, index) => ({ event: events[index], eventId: envelope.id })),
      4,
    );
    const recorded = await queryPrepared<{ event_id: string }>(
      this.db,
      `${this.subscriber.module}.inbox-${handling.name}`,
      `WITH inbox_recorded AS (
         INSERT INTO ${this.table} (event_id, handler, publisher)
         SELECT e.id, $2, e.publisher FROM unnest($1::uuid[], $3::text[]) AS e (id, publisher)
         ON CONFLICT DO NOTHING RETURNING event_id
       ), ${handling.ctes}
       SELECT event_id FROM inbox_recorded`,
      [envelopes.map((envelope) => envelope.id), this.subscriber.id, envelopes.map((envelope) => envelope.publisher), ...handling.params],
    );
    return new Set(recorded.map((row) => row.event_id));
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
    fields = new Set(getMetadataStorage().getTargetValidationMetadatas(type, '', true, false).map((m) => m.propertyName));
    declaredFields.set(type, fields);
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return payload;
  return Object.fromEntries(Object.entries(payload).filter(([key]) => fields.has(key)));
}
