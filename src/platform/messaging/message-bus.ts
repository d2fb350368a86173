import eventemitter2 from 'eventemitter2';

// A CommonJS package whose module.exports is the class itself; its typings say otherwise to Node16 resolution.
const EventEmitter2 = eventemitter2 as unknown as typeof import('eventemitter2').EventEmitter2;
import type { EventEnvelope } from '../contracts/integration-event.js';

/** A delivery that can never succeed however often it is retried (bad payload, unknown version). */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

/** Nothing in this process can take a subscriber's deliveries right now (its transport is not bound). */
export class NoRouteError extends Error {
  override readonly name = 'NoRouteError';
}

/**
 * Which relay claim hands an event over: the outbox it comes from, the event's
 * position there, and the claim's fencing token, which grows along the claims
 * of an aggregate's deliveries. A subscriber's inbox refuses a hand-over when
 * it already took a later event of the aggregate by a later claim: a relay
 * held past its lease cannot hand an event over after the aggregate went past
 * it (ADR 20).
 */
export interface DeliveryClaim {
  readonly outbox: string;
  readonly position: number;
  readonly token: number;
}

/**
 * Takes one event for one subscriber; answers the event's stream position when
 * the route is the stream (the relay records it), nothing otherwise. `claim`
 * is null for a hand-over no relay claimed (then nothing fences it).
 */
export type DeliveryRoute = (envelope: EventEnvelope, previousSequence: number | null, claim: DeliveryClaim | null) => Promise<number | void>;

/** Several events of one subscriber at once, with their claims (`claims[i]` is `envelopes[i]`'s; none: unfenced). */
export type BatchRoute = (envelopes: readonly EventEnvelope[], claims?: readonly DeliveryClaim[]) => Promise<void>;

/**
 * The in-process bus, on eventemitter2. It carries two kinds of signal:
 * `deliver.<subscriber>` hands one event to whatever serves that subscriber
 * here (the local inbox, or the stream that other processes read), and
 * `committed.<module>` wakes a module's relay right after a commit.
 */
export class MessageBus {
  private readonly emitter = new EventEmitter2({ wildcard: false, maxListeners: 0 });

  route(subscriberId: string, deliver: DeliveryRoute): void {
    const event = `deliver.${subscriberId}`;
    if (this.emitter.listenerCount(event) > 0) throw new Error(`subscriber '${subscriberId}' already has a route`);
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- only emitAsync calls it (deliver()), which awaits the promise it returns
    this.emitter.on(event, deliver);
  }

  async deliver(
    subscriberId: string,
    envelope: EventEnvelope,
    previousSequence: number | null = null,
    claim: DeliveryClaim | null = null,
  ): Promise<number | void> {
    const event = `deliver.${subscriberId}`;
    if (this.emitter.listenerCount(event) === 0) {
      throw new NoRouteError(`no route to subscriber '${subscriberId}' from this process`);
    }
    const [answer] = (await this.emitter.emitAsync(event, envelope, previousSequence, claim)) as Array<number | void>;
    return answer;
  }

  /** A route that also takes several events of one subscriber at once (all or none: it throws if any fails). */
  routeBatch(subscriberId: string, deliver: BatchRoute): void {
    const event = `deliver-batch.${subscriberId}`;
    if (this.emitter.listenerCount(event) > 0) throw new Error(`subscriber '${subscriberId}' already has a batch route`);
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- only emitAsync calls it (deliverBatch()), which awaits the promise it returns
    this.emitter.on(event, deliver);
  }

  takesBatches(subscriberId: string): boolean {
    return this.emitter.listenerCount(`deliver-batch.${subscriberId}`) > 0;
  }

  async deliverBatch(subscriberId: string, envelopes: readonly EventEnvelope[], claims?: readonly DeliveryClaim[]): Promise<void> {
    if (!this.takesBatches(subscriberId)) throw new NoRouteError(`no batch route to subscriber '${subscriberId}' from this process`);
    await this.emitter.emitAsync(`deliver-batch.${subscriberId}`, envelopes, claims);
  }

  /** A commit of `module` wrote these events to its outbox. */
  committed(module: string, eventIds: readonly string[]): void {
    this.emitter.emit(`committed.${module}`, eventIds);
  }

  onCommitted(module: string, listener: (eventIds: readonly string[]) => void): () => void {
    this.emitter.on(`committed.${module}`, listener);
    return () => this.emitter.off(`committed.${module}`, listener);
  }
}
