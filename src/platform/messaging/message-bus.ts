import eventemitter2 from 'eventemitter2';

// A CommonJS package whose module.exports is the class itself; its typings say otherwise to Node16 resolution.
const EventEmitter2 = eventemitter2 as unknown as typeof import('eventemitter2').EventEmitter2;
import type { EventEnvelope } from './integration-event.js';

/** A delivery that can never succeed however often it is retried (bad payload, unknown version). */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

/** Nothing in this process can take a subscriber's deliveries right now (its transport is not bound). */
export class NoRouteError extends Error {
  override readonly name = 'NoRouteError';
}

export type DeliveryRoute = (envelope: EventEnvelope) => Promise<void>;

/**
 * The in-process bus, on eventemitter2. It carries two kinds of signal:
 * `deliver.<subscriber>` hands one event to whatever serves that subscriber
 * here (the local inbox, or a transport to another process), and
 * `committed.<module>` wakes a module's relay right after a commit.
 */
export class MessageBus {
  private readonly emitter = new EventEmitter2({ wildcard: false, maxListeners: 0 });

  route(subscriberId: string, deliver: DeliveryRoute): void {
    const event = `deliver.${subscriberId}`;
    if (this.emitter.listenerCount(event) > 0) throw new Error(`subscriber '${subscriberId}' already has a route`);
    this.emitter.on(event, deliver);
  }

  async deliver(subscriberId: string, envelope: EventEnvelope): Promise<void> {
    const event = `deliver.${subscriberId}`;
    if (this.emitter.listenerCount(event) === 0) {
      throw new NoRouteError(`no route to subscriber '${subscriberId}' from this process`);
    }
    await this.emitter.emitAsync(event, envelope);
  }

  committed(module: string): void {
    this.emitter.emit(`committed.${module}`);
  }

  onCommitted(module: string, listener: () => void): () => void {
    this.emitter.on(`committed.${module}`, listener);
    return () => this.emitter.off(`committed.${module}`, listener);
  }
}
