import type { EventEnvelope } from '../contracts/integration-event.js';
import type { ConsumerStats } from '../observability/metrics.js';

/** The delivery-row subscriber of an event bound for the stream: no `<module>.<name>` can be it. */
export const STREAM_SUBSCRIBER = 'stream';

/** One event as a stream consumer receives it. */
export interface StreamedEvent {
  readonly envelope: EventEnvelope;
  /** Its position in the stream. */
  readonly sequence: number;
  /**
   * The position of the previous event of the same aggregate from the same
   * publisher, or null when the publisher knows none (its first, or pruned).
   */
  readonly previousSequence: number | null;
  /** How many times the stream has handed this event to the consumer, this time included. */
  readonly deliveries: number;
  /** Done with it: never deliver it again. */
  ack(): void;
  /** Deliver it again after `delayMs` (to this or another replica). */
  retry(delayMs: number): void;
}

/** Where a subscription reads: the consumer's name and the module whose events it takes. */
export interface StreamSubscription {
  /** Durable consumer name; every replica of the subscriber uses the same one. */
  readonly consumer: string;
  readonly publisher: string;
}

export type BatchReceiver = (events: readonly StreamedEvent[]) => Promise<void>;

// Defined beside the gauges that read it, so observability needs nothing of messaging.
export type { ConsumerStats } from '../observability/metrics.js';

export interface StreamConsumption {
  /**
   * The stream position this consumer started at when it was first created:
   * events before it were published before the subscription existed.
   */
  readonly startSequence: number;
  stats(): Promise<ConsumerStats>;
  /** Stops taking events; the batch in hand is finished first. */
  stop(): Promise<void>;
}

/**
 * A durable, ordered log of every module's events, shared by the processes of
 * a deployment (JetStream: see transport/jetstream-event-stream.ts). The
 * outbox relay publishes to it; each subscriber reads it through a consumer
 * of its own. Publishers do not know who reads: a subscriber deployed later
 * gets every event from its first start on (ADR 12).
 */
export interface EventStream {
  /** Appends an event once (a repeat of the same event id is recognised); answers its position. */
  publish(envelope: EventEnvelope, previousSequence: number | null): Promise<number>;
  /**
   * Hands the subscription's events, one batch at a time until stopped, to the
   * receiver made from where the subscription started.
   */
  consume(subscription: StreamSubscription, receiver: (startSequence: number) => BatchReceiver): Promise<StreamConsumption>;
}
