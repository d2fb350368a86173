import type { Type } from '@nestjs/common';
import { eventOptions } from '../contracts/integration-event.js';
import type { ModuleTransaction } from './module-transaction.js';

/** What a subscriber is given besides the event: its identity, and the transaction it runs in. */
export interface EventContext {
  readonly eventId: string;
  readonly occurredAt: string;
  readonly publisher: string;
  /**
   * The subscriber module's transaction that also records the event as handled:
   * the subscriber's changes and the events it publishes commit with that record, or not at all.
   */
  readonly tx: ModuleTransaction;
}

export interface EventSubscriber<E extends object> {
  handle(event: E, context: EventContext): Promise<void>;
  /**
   * Optional: several events at once, in the order they are taken (each
   * aggregate's in its order), in one transaction (every `context.tx` is the
   * same). It must do exactly what `handle` would do event by event; the
   * platform then calls it for each batch it takes (off the stream, or from a
   * relay in this process), so a subscriber of one statement costs one round trip
   * per batch instead of one per event. A batch that fails is taken again event
   * by event (`handle`): the failing event's first attempt then runs twice, the
   * first time in a transaction that was rolled back.
   */
  handleBatch?(events: ReadonlyArray<{ readonly event: E; readonly context: EventContext }>): Promise<void>;
  /**
   * Optional, for a subscriber whose handling is writes to its own schema that
   * publish nothing: the handling of events (one, or a relay's batch in this
   * process) as CTEs of one SQL statement, which the inbox runs together with
   * its record of them. One round trip and no transaction around it (a lone
   * statement is atomic), where `handle` and `handleBatch` take four (BEGIN,
   * inbox record, handling, COMMIT). It must do what `handle` would do event
   * by event, and only for the events whose id the inbox has just recorded:
   * `inbox_recorded (event_id)`, a CTE before these, leaves out duplicates.
   * Off the stream (events from another process) `handle` and `handleBatch`
   * are used, which also keep each aggregate's stream position.
   */
  handleStatement?(events: ReadonlyArray<{ readonly event: E; readonly eventId: string }>, first: number): HandlingStatement;
}

/** A subscriber's handling as CTEs of the inbox's statement (see `EventSubscriber.handleStatement`). */
export interface HandlingStatement {
  /** Kebab-case, unique among the module's statements: what the prepared statement is called. */
  readonly name: string;
  /**
   * `name AS (...)` CTEs, comma-separated, to follow the inbox's own in one WITH. Their
   * text is fixed (the statement stays prepared); they read their parameters from
   * `$first` on, and join `inbox_recorded` on event id.
   */
  readonly ctes: string;
  readonly params: readonly unknown[];
}

/**
 * A module's declaration that one of its providers handles events of another
 * (or its own) contract. One subscription reads one publisher's events; the
 * events it lists reach its subscriber in each aggregate's order, across types
 * (an order's OrderConfirmed before its OrderCancelled). Events of two
 * publishers need two subscriptions.
 */
export interface Subscription<E extends object = object> {
  /** Unique in the module; with the module name it identifies the subscriber: `<module>.<name>`. */
  readonly name: string;
  readonly events: readonly Type<E>[];
  /** The module whose events these are (the first part of their names). */
  readonly publisher: string;
  /** The provider (of the module's core) that takes the events. */
  readonly subscriber: Type<EventSubscriber<E>>;
}

export function subscribe<E extends object>(
  events: Type<E> | readonly Type<E>[],
  subscriber: Type<EventSubscriber<E>>,
  name: string = kebab(subscriber.name),
): Subscription<E> {
  const types: readonly Type<E>[] = Array.isArray(events) ? events : [events as Type<E>];
  if (types.length === 0) throw new Error(`subscription '${name}' lists no event`);
  // Fail at definition time, not at first delivery.
  const names = types.map((type) => eventOptions(type).name);
  const publishers = new Set(names.map((event) => event.split('.')[0]));
  if (publishers.size > 1) {
    throw new Error(`subscription '${name}' mixes events of ${[...publishers].join(' and ')}: one subscription reads one publisher's events`);
  }
  if (new Set(names).size < names.length) throw new Error(`subscription '${name}' lists an event twice`);
  return { name, events: types, publisher: [...publishers][0], subscriber };
}

function kebab(name: string): string {
  return (
    name
      // The name keys deliveries, inbox records and the stream consumer: it never changed with the class's role suffix.
      .replace(/(Handler|Subscriber)$/, '')
      .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
      .toLowerCase()
  );
}
