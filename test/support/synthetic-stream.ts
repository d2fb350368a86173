import { createHash } from 'node:crypto';
import type { EventEnvelope } from '../../src/platform/contracts/integration-event.js';
import type { BatchReceiver, StreamedEvent } from '../../src/platform/messaging/event-stream.js';

/** JetStream's ack wait as the synthetic stream plays it: an unacknowledged message comes back after it. */
export const ACK_WAIT_MS = 30_000;

/** One message of the synthetic stream, as JetStream keeps it for one consumer. */
interface Message {
  readonly sequence: number;
  readonly previousSequence: number | null;
  readonly envelope: EventEnvelope;
  deliveries: number;
  acked: boolean;
  /** When it may be handed out again (simulated ms). */
  readyAt: number;
}

/** What happened to a batch's messages: the receiver's verdicts, as JetStream would record them. */
export interface BatchLog {
  readonly acked: number[];
  readonly retried: Array<{ sequence: number; delayMs: number }>;
}

/**
 * A deterministic stand-in for one JetStream consumer: sequence numbers,
 * delivery counts, ack and NAK-with-delay, redelivery after the ack wait,
 * on a simulated clock the test advances. The receiver (a StreamInbox's
 * `receive`) runs on real PostgreSQL; only the stream's timing is simulated,
 * so a schedule drawn from a seed replays exactly.
 */
export class SyntheticStream {
  now = 0;
  /** Every verdict in the order it came (`<now> <sequence> ack|retry <delay>`): two replays of a seed compare equal. */
  readonly history: string[] = [];
  private readonly messages: Message[] = [];
  private readonly lastOfAggregate = new Map<string, number>();

  /** `name` makes the event ids (derived from it and the sequence, not random, so a replay has the same ids): unique per database. */
  constructor(private readonly name: string) {}

  /** Appends an event of `aggregateId`; answers its sequence. */
  publish(name: string, aggregateId: string, payload: Record<string, unknown>): { sequence: number; eventId: string } {
    const sequence = this.messages.length + 1;
    const envelope: EventEnvelope = {
      id: eventId(this.name, sequence),
      name,
      version: 1,
      publisher: 'ledger',
      aggregateId,
      occurredAt: new Date(0).toISOString(),
      payload,
      headers: {},
    };
    this.messages.push({ sequence, previousSequence: this.lastOfAggregate.get(aggregateId) ?? null, envelope, deliveries: 0, acked: false, readyAt: 0 });
    this.lastOfAggregate.set(aggregateId, sequence);
    return { sequence, eventId: envelope.id };
  }

  get unacked(): number {
    return this.messages.filter((m) => !m.acked).length;
  }

  /** When the next unacknowledged message may be handed out, if any is left. */
  nextReadyAt(): number | undefined {
    const ready = this.messages.filter((m) => !m.acked).map((m) => m.readyAt);
    return ready.length === 0 ? undefined : Math.min(...ready);
  }

  /** The messages ready now, oldest first, at most `max`. */
  ready(max: number): number[] {
    return this.messages
      .filter((m) => !m.acked && m.readyAt <= this.now)
      .slice(0, max)
      .map((m) => m.sequence);
  }

  /**
   * Hands these messages to `receive` as one batch and waits until each has a
   * verdict (ack or NAK: some come after `receive` returns). With `loseAcks`
   * the acknowledgements never reach the stream (the replica died after its
   * commit): those messages come back after the ack wait. A batch that throws
   * leaves its messages unacknowledged, as the JetStream adapter does.
   */
  async deliver(
    sequences: readonly number[],
    receive: BatchReceiver,
    options: { loseAcks?: boolean; afterReceive?: () => Promise<void> } = {},
  ): Promise<BatchLog> {
    const log: BatchLog = { acked: [], retried: [] };
    const settled: Promise<void>[] = [];
    const batch = sequences.map((sequence): StreamedEvent => {
      const message = this.messages[sequence - 1];
      message.deliveries += 1;
      // Until a verdict comes, it is in this replica's hands: back after the ack wait if none does.
      message.readyAt = this.now + ACK_WAIT_MS;
      let settle!: () => void;
      settled.push(new Promise<void>((resolve) => (settle = resolve)));
      return {
        envelope: message.envelope,
        sequence: message.sequence,
        previousSequence: message.previousSequence,
        deliveries: message.deliveries,
        ack: () => {
          log.acked.push(sequence);
          this.history.push(`${this.now} ${sequence} ack${options.loseAcks ? ' (lost)' : ''}`);
          if (!options.loseAcks) message.acked = true;
          settle();
        },
        retry: (delayMs) => {
          log.retried.push({ sequence, delayMs });
          this.history.push(`${this.now} ${sequence} retry ${delayMs}`);
          message.readyAt = this.now + delayMs;
          settle();
        },
      };
    });
    try {
      await receive(batch);
    } catch {
      return log;
    } finally {
      // e.g. another replica lets go of a lock: a verdict still to come may wait for it.
      await options.afterReceive?.();
    }
    await Promise.all(settled);
    return log;
  }
}

/** A UUID-shaped id derived from the stream's name and the sequence. */
function eventId(name: string, sequence: number): string {
  const hex = createHash('sha256').update(`${name}/${sequence}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
