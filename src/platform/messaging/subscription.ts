import type { Type } from '@nestjs/common';
import { eventOptions } from './integration-event.js';
import type { ModuleTransaction } from './module-transaction.js';

/** What a handler is given besides the event: its identity, and the transaction it runs in. */
export interface EventContext {
  readonly eventId: string;
  readonly occurredAt: string;
  readonly publisher: string;
  /**
   * The subscriber module's transaction that also records the event as handled:
   * the handler's changes and the events it publishes commit with that record, or not at all.
   */
  readonly tx: ModuleTransaction;
}

export interface EventHandler<E extends object> {
  handle(event: E, context: EventContext): Promise<void>;
}

/** A module's declaration that one of its providers handles an event of another (or its own) contract. */
export interface Subscription<E extends object = object> {
  /** Unique in the module; with the module name it identifies the subscriber: `<module>.<name>`. */
  readonly name: string;
  readonly event: Type<E>;
  readonly handler: Type<EventHandler<E>>;
}

export function subscribe<E extends object>(
  event: Type<E>,
  handler: Type<EventHandler<E>>,
  name: string = kebab(handler.name),
): Subscription<E> {
  eventOptions(event); // fail at definition time, not at first delivery
  return { name, event, handler };
}

function kebab(name: string): string {
  return name
    .replace(/Handler$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}
