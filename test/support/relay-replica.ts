import type { DataSource } from 'typeorm';
import type { MessagingOptions } from '../../src/platform/config/messaging-options.js';
import { Inbox } from '../../src/platform/messaging/inbox.js';
import { type BatchRoute, type DeliveryRoute, MessageBus } from '../../src/platform/messaging/message-bus.js';
import { OutboxRelay } from '../../src/platform/messaging/outbox-relay.js';
import { type ClaimedDelivery, OutboxStore } from '../../src/platform/messaging/outbox.store.js';
import { TransactionRunner } from '../../src/platform/messaging/transaction-runner.js';
import type { PassResult } from '../../src/platform/scheduling/wakeable-loop.js';
import type { PlannedSubscriber } from './planned-subscribers.js';
import { SteppedLoop } from './stepped-loop.js';

/**
 * Where a relay's pass stops: as it hands its `at`-th delivery (from 0) over,
 * or after that delivery's handling, before the pass's bookkeeping.
 */
export interface Pause {
  readonly point: 'before' | 'after';
  readonly at: number;
}

/** An outbox store that counts what its relay claims: a pass that claimed nothing did no work. */
class CountingOutboxStore extends OutboxStore {
  claimed = 0;

  override async claim(limit: number, leaseMs: number, holder: string): Promise<ClaimedDelivery[]> {
    return this.count(await super.claim(limit, leaseMs, holder));
  }

  override async claimEvents(eventIds: readonly string[], leaseMs: number, holder: string): Promise<ClaimedDelivery[]> {
    return this.count(await super.claimEvents(eventIds, leaseMs, holder));
  }

  private count(claimed: ClaimedDelivery[]): ClaimedDelivery[] {
    this.claimed += claimed.length;
    return claimed;
  }
}

/** A promise and what settles it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * One process hosting the ledger module's outbox and the audit subscribers,
 * as `Messaging` composes them (its bus, its outbox store, a relay, an inbox
 * per subscriber, the publisher's TransactionRunner whose commits announce
 * their events to this relay), with the relay's passes run by the test
 * (`pass`) and able to pause in the middle of one (a GC pause, SIGSTOP):
 * the paused pass resumes when told (`resume`), or never (the process
 * crashed: the test replaces the replica).
 */
export class RelayReplica {
  readonly bus = new MessageBus();
  readonly store: CountingOutboxStore;
  readonly relay: OutboxRelay;
  readonly publisher: TransactionRunner;
  private readonly loop: SteppedLoop;
  private armed: Pause | undefined;
  /** Deliveries handed over in this pass, and those still in the subscriber's hands. */
  private handedOver = 0;
  private running = 0;
  private settled: (() => void) | undefined;
  private reached = gate();
  private resumed = gate();
  /** The pass in progress while paused. */
  private paused: Promise<{ result?: PassResult; error?: unknown }> | undefined;

  constructor(
    ledger: DataSource,
    audit: { readonly db: DataSource; readonly transactions: TransactionRunner },
    subscribers: readonly PlannedSubscriber[],
    options: MessagingOptions,
    random: () => number,
  ) {
    this.store = new CountingOutboxStore('ledger', ledger);
    let loop!: SteppedLoop;
    this.relay = new OutboxRelay(this.store, this.bus, options, undefined, {
      random,
      loop: (pass) => (loop = new SteppedLoop(pass)),
    });
    this.loop = loop;
    const recipients = subscribers.map((s) => s.registered.id);
    this.publisher = new TransactionRunner('ledger', ledger, this.store, () => recipients, this.bus);
    for (const { registered, handler } of subscribers) {
      const inbox = new Inbox(registered, audit.db, audit.transactions, () => handler);
      this.bus.route(
        registered.id,
        this.pausable<Parameters<DeliveryRoute>>((envelope, _previousSequence, claim) => inbox.receive(envelope, claim)),
      );
      this.bus.routeBatch(
        registered.id,
        this.pausable<Parameters<BatchRoute>>((envelopes, claims) => inbox.receiveBatch(envelopes, claims)),
      );
    }
  }

  get isPaused(): boolean {
    return this.paused !== undefined;
  }

  start(): Promise<void> {
    return this.relay.start();
  }

  /**
   * Runs one pass; with `pause`, the pass stops there and stays (answers
   * 'paused') until `resume`. A pass with fewer deliveries runs to its end.
   */
  async pass(pause?: Pause): Promise<PassResult | 'paused'> {
    if (this.paused) throw new Error('a paused relay runs no other pass');
    this.armed = pause;
    this.handedOver = 0;
    this.reached = gate();
    const running = this.loop.step().then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    const first = await Promise.race([running, this.reached.promise.then(() => 'paused' as const)]);
    this.armed = undefined;
    if (first === 'paused') {
      this.paused = running;
      // The pass's other deliveries go on to their end (the relay then waits for the paused one):
      // the next step starts once they are done, so that nothing of this pass runs beside it.
      while (this.running > 1) await new Promise<void>((resolve) => (this.settled = resolve));
      return 'paused';
    }
    if ('error' in first) throw first.error;
    return first.result;
  }

  /** Lets a paused pass go on (its lease may have run out meanwhile) and waits for its end. */
  async resume(): Promise<PassResult | undefined> {
    const running = this.paused;
    if (!running) return undefined;
    this.paused = undefined;
    this.resumed.open();
    const outcome = await running;
    if ('error' in outcome) throw outcome.error;
    return outcome.result;
  }

  /** A route that counts its deliveries and pauses where the armed pause says. */
  private pausable<A extends unknown[]>(deliver: (...delivery: A) => Promise<unknown>): (...delivery: A) => Promise<void> {
    return async (...delivery) => {
      const index = this.handedOver++;
      this.running += 1;
      try {
        await this.pauseAt('before', index);
        try {
          await deliver(...delivery);
        } finally {
          await this.pauseAt('after', index);
        }
      } finally {
        this.running -= 1;
        this.settled?.();
      }
    };
  }

  private async pauseAt(point: Pause['point'], index: number): Promise<void> {
    if (this.armed?.point !== point || this.armed.at !== index) return;
    this.armed = undefined;
    this.resumed = gate();
    this.reached.open();
    await this.resumed.promise;
  }
}
