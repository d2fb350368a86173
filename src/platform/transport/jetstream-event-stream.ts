import { timingSafeEqual } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { ConfigurationError } from '../config/configuration.error.js';
import type { BatchReceiver, ConsumerStats, EventStream, StreamConsumption, StreamedEvent, StreamSubscription } from '../messaging/event-stream.js';
import type { EventEnvelope } from '../contracts/integration-event.js';
import { NoRouteError } from '../messaging/message-bus.js';
import { inputShapeErrors, parseJson } from '../validation/input-shape.js';

export const TOKEN_HEADER = 'Mf-Service-Token';
const PREVIOUS_HEADER = 'Mf-Previous-Seq';

/** How the stream is kept (ADR 12). */
export interface EventStreamOptions {
  /** Events older than this leave the stream (JetStream max_age). */
  readonly maxAgeMs: number;
  /** Copies of the stream in a JetStream cluster. */
  readonly replicas: number;
}

/** JetStream's API codes this adapter tells apart. */
const CONSUMER_NOT_FOUND = 10014;
const STREAM_NOT_FOUND = 10059;

/** Events a consumer may have in hand, unacknowledged, across all its replicas. */
const MAX_UNACKNOWLEDGED = 1024;
/** Events one batch takes. */
const BATCH = 256;
/** After this, an unacknowledged event goes to another replica: far above a batch's time. */
const ACK_WAIT_MS = 30_000;
/** The same event id published again within this window is stored once. */
const DUPLICATE_WINDOW_MS = 120_000;

/**
 * The event stream on NATS JetStream: one stream per deployment
 * (`<prefix>-events`, subjects `<prefix>.events.<module>.<Event>`), written by
 * every publisher's outbox relay with the event id as `Nats-Msg-Id` so a
 * repeated publication is stored once; read through one durable pull consumer
 * per (subscriber, publisher), shared by the subscriber's replicas.
 */
export class JetStreamEventStream implements EventStream {
  private readonly logger = new Logger('transport.jetstream');

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly prefix: string,
    private readonly stream: string,
    /** Absent when NATS's own credentials authenticate the processes (ADR 15). */
    private readonly token: Buffer | undefined,
  ) {}

  static async open(connection: NatsConnection, options: EventStreamOptions & { prefix: string; token: string | undefined }): Promise<JetStreamEventStream> {
    const stream = `${options.prefix}-events`;
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(connection, { timeout: 5_000 });
      await ensureStream(jsm, stream, `${options.prefix}.events.>`, options);
    } catch (error) {
      if (error instanceof ConfigurationError) throw error;
      throw new ConfigurationError(
        `NATS JetStream is not available (${(error as Error).message}): start nats-server with -js (events between processes need it)`,
      );
    }
    return new JetStreamEventStream(
      jetstream(connection, { timeout: 5_000 }),
      jsm,
      options.prefix,
      stream,
      options.token === undefined ? undefined : Buffer.from(options.token),
    );
  }

  async publish(envelope: EventEnvelope, previousSequence: number | null): Promise<number> {
    const headers = natsHeaders();
    if (this.token !== undefined) headers.set(TOKEN_HEADER, this.token.toString());
    if (previousSequence !== null) headers.set(PREVIOUS_HEADER, String(previousSequence));
    try {
      const ack = await this.js.publish(`${this.prefix}.events.${envelope.name}`, JSON.stringify(envelope), {
        msgID: envelope.id,
        headers,
      });
      return ack.seq;
    } catch (error) {
      // The stream is out of reach (NATS down, no quorum): the event waits in the outbox, uncounted.
      throw new NoRouteError(`cannot publish ${envelope.name} ${envelope.id} to the event stream: ${(error as Error).message}`);
    }
  }

  async consume(subscription: StreamSubscription, receiver: (startSequence: number) => BatchReceiver): Promise<StreamConsumption> {
    const startSequence = await this.ensureConsumer(subscription);
    const onBatch = receiver(startSequence);
    const consumer = await this.js.consumers.get(this.stream, subscription.consumer);
    const queue: JsMsg[] = [];
    let wake: (() => void) | undefined;
    let stopped = false;
    const messages = await consumer.consume({
      max_messages: BATCH,
      callback: (message) => {
        queue.push(message);
        wake?.();
      },
    });
    const worker = (async () => {
      while (!stopped) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        try {
          // Inside the try: reading may terminate a message, which throws on a closed connection.
          const batch = queue.splice(0, BATCH).flatMap((message) => this.read(message, subscription));
          if (batch.length > 0) await onBatch(batch);
        } catch (error) {
          // Unacknowledged: JetStream hands them out again after the ack wait.
          this.logger.warn(`${subscription.consumer}: a batch failed: ${(error as Error).message}`);
        }
      }
    })();
    return {
      startSequence,
      stats: () => this.stats(subscription),
      stop: async () => {
        stopped = true;
        await messages.close().catch(() => {});
        wake?.();
        await worker;
        // Never started: straight back to the stream, for another replica to take now (or after
        // the ack wait, when the connection is already closing and nak throws).
        for (const message of queue.splice(0)) {
          try {
            message.nak();
          } catch {
            break;
          }
        }
      },
    };
  }

  /** A message as the subscriber sees it; one it can never read is terminated (and said so) here. */
  private read(message: JsMsg, subscription: StreamSubscription): StreamedEvent[] {
    if (this.token !== undefined && !tokenMatches(message.headers?.get(TOKEN_HEADER), this.token)) {
      this.logger.warn(`${subscription.consumer}: refused stream message ${message.seq} (${message.subject}): missing or wrong service token`);
      message.term('refused: missing or wrong service token');
      return [];
    }
    const envelope = parseEnvelope(message.data);
    if (envelope === undefined || `${this.prefix}.events.${envelope.name}` !== message.subject) {
      this.logger.warn(`${subscription.consumer}: stream message ${message.seq} on ${message.subject} is not an event envelope; dropped`);
      message.term('not an event envelope');
      return [];
    }
    const previous = Number(message.headers?.get(PREVIOUS_HEADER) || Number.NaN);
    return [
      {
        envelope,
        sequence: message.seq,
        previousSequence: Number.isSafeInteger(previous) && previous > 0 ? previous : null,
        deliveries: message.info.deliveryCount,
        ack: () => message.ack(),
        retry: (delayMs) => message.nak(delayMs),
      },
    ];
  }

  /**
   * The subscription's durable consumer, created on its first start at the
   * stream's end: a new subscriber reads what is published from then on
   * (ADR 12). Answers where it started.
   */
  private async ensureConsumer(subscription: StreamSubscription): Promise<number> {
    const existing = await this.consumerStart(subscription.consumer);
    if (existing !== undefined) return existing;
    const { state } = await this.jsm.streams.info(this.stream);
    const start = state.last_seq + 1;
    try {
      await this.jsm.consumers.add(this.stream, {
        durable_name: subscription.consumer,
        filter_subject: `${this.prefix}.events.${subscription.publisher}.>`,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: start,
        ack_wait: nanos(ACK_WAIT_MS),
        max_ack_pending: MAX_UNACKNOWLEDGED,
        max_deliver: -1,
      });
      this.logger.log(`created consumer ${subscription.consumer} of ${this.stream}, from position ${start}`);
      return start;
    } catch (error) {
      // Another replica created it first, from its own idea of the end: that one stands.
      const created = await this.consumerStart(subscription.consumer);
      if (created !== undefined) return created;
      throw error;
    }
  }

  private async consumerStart(consumer: string): Promise<number | undefined> {
    try {
      const info = await this.jsm.consumers.info(this.stream, consumer);
      return info.config.opt_start_seq ?? 1;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === CONSUMER_NOT_FOUND) return undefined;
      throw error;
    }
  }

  private async stats(subscription: StreamSubscription): Promise<ConsumerStats> {
    const info = await this.jsm.consumers.info(this.stream, subscription.consumer);
    return {
      consumer: subscription.consumer,
      publisher: subscription.publisher,
      pending: info.num_pending,
      unacknowledged: info.num_ack_pending,
      redelivered: info.num_redelivered,
    };
  }
}

/** Constant-time comparison of a message's token with the deployment's. */
export function tokenMatches(given: string | undefined, token: Buffer): boolean {
  const bytes = Buffer.from(given ?? '');
  return bytes.length === token.length && timingSafeEqual(bytes, token);
}

/** Creates the deployment's stream if it is not there; an existing one is left as its operators set it. */
async function ensureStream(jsm: JetStreamManager, name: string, subjects: string, options: EventStreamOptions): Promise<void> {
  try {
    await jsm.streams.info(name);
    return;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND)) throw error;
  }
  try {
    await jsm.streams.add({
      name,
      subjects: [subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(options.maxAgeMs),
      duplicate_window: nanos(Math.min(DUPLICATE_WINDOW_MS, options.maxAgeMs)),
      num_replicas: options.replicas,
    });
  } catch (error) {
    // Created by another process meanwhile.
    await jsm.streams.info(name).catch(() => {
      throw error;
    });
  }
}

/** An event envelope, or undefined for anything else: not JSON, a reserved property name or deep nesting anywhere, a field missing. */
export function parseEnvelope(data: Uint8Array): EventEnvelope | undefined {
  const parsed = parseJson(new TextDecoder().decode(data));
  if (parsed === undefined || inputShapeErrors(parsed.value).length > 0) return undefined;
  const e = parsed.value as Partial<EventEnvelope> | null;
  const isText = (v: unknown) => typeof v === 'string' && v.length > 0;
  if (
    e === null ||
    typeof e !== 'object' ||
    !isText(e.id) ||
    !isText(e.name) ||
    !Number.isInteger(e.version) ||
    !isText(e.publisher) ||
    !isText(e.aggregateId) ||
    !isText(e.occurredAt) ||
    e.payload === null ||
    typeof e.payload !== 'object' ||
    Array.isArray(e.payload) ||
    e.headers === null ||
    typeof e.headers !== 'object'
  ) {
    return undefined;
  }
  return e as EventEnvelope;
}
