import { Logger, type Type } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { ModuleDefinition } from '../modules/module-definition.js';
import { EventRegistry, type RegisteredSubscriber } from './event-registry.js';
import { type ConsumerStats, type EventStream, STREAM_SUBSCRIBER, type StreamConsumption } from './event-stream.js';
import { Inbox } from './inbox.js';
import { MessageBus } from './message-bus.js';
import { DEFAULT_MESSAGING_OPTIONS, type MessagingOptions } from '../config/messaging-options.js';
import { TransactionRunner } from './transaction-runner.js';
import { OutboxRelay } from './outbox-relay.js';
import { type DeadLetter, OutboxStore, type OutboxStats } from './outbox.store.js';
import { StreamInbox } from './stream-inbox.js';
import type { EventSubscriber } from '../modules/subscription.js';

/** What messaging needs of the hosted modules' databases (ModuleDatabases, composed by the application). */
export interface HostedDatabases {
  get(module: string): DataSource;
  /** The module's own connection URL, for the relay's LISTEN connection. */
  connectionUrl(module: string): string;
}

/**
 * Reliable events for the modules this process hosts: for each, its outbox,
 * its transactions (the only way to publish), a relay, and an inbox per
 * subscription. Knows modules only through their definitions.
 *
 * Two ways events travel (ADR 12). In one process (no stream), an event gets
 * a delivery per subscriber of the build and the relay hands it to each
 * subscriber's inbox. When modules run in several processes, every event
 * gets one delivery, to the stream; each subscriber reads the stream through
 * a consumer of its own, so publishers need not know who listens, nor when
 * a listener was deployed.
 */
export class Messaging {
  readonly bus = new MessageBus();
  readonly registry: EventRegistry;
  private readonly logger = new Logger('messaging');
  private readonly stores = new Map<string, OutboxStore>();
  private readonly transactions = new Map<string, TransactionRunner>();
  private readonly relays = new Map<string, OutboxRelay>();
  private readonly consumptions: StreamConsumption[] = [];
  private resolve: (<T>(type: Type<T>) => T) | undefined;

  constructor(
    definitions: readonly ModuleDefinition[],
    private readonly hosted: readonly ModuleDefinition[],
    private readonly databases: HostedDatabases,
    private readonly options: MessagingOptions = DEFAULT_MESSAGING_OPTIONS,
    private readonly stream?: EventStream,
  ) {
    this.registry = new EventRegistry(definitions);
    const toStream = [STREAM_SUBSCRIBER] as const;
    const recipientsOf = stream ? () => toStream : (eventName: string) => this.registry.subscribersOf(eventName).map((subscriber) => subscriber.id);
    for (const { name } of hosted) {
      const db = databases.get(name);
      const store = new OutboxStore(name, db);
      this.stores.set(name, store);
      this.transactions.set(name, new TransactionRunner(name, db, store, recipientsOf, this.bus));
      this.relays.set(name, new OutboxRelay(store, this.bus, options, databases.connectionUrl(name)));
    }
    if (stream && hosted.length > 0) {
      this.bus.route(STREAM_SUBSCRIBER, (envelope, previousSequence) => stream.publish(envelope, previousSequence));
    }
  }

  transactionsFor(module: string): TransactionRunner {
    const transactions = this.transactions.get(module);
    if (!transactions) throw new Error(`module '${module}' is not hosted by this process`);
    return transactions;
  }

  /**
   * Routes every subscription of the hosted modules to its inbox (deliveries
   * in one process, and dead letters replayed); `resolve` finds handler instances.
   */
  bindLocalSubscribers(resolve: <T>(type: Type<T>) => T): void {
    this.resolve = resolve;
    for (const { name } of this.hosted) {
      for (const subscriber of this.registry.subscribersIn(name)) {
        let handler: EventSubscriber<object> | undefined;
        const inbox = new Inbox(
          subscriber,
          this.databases.get(name),
          this.transactionsFor(name),
          () => (handler ??= resolve(subscriber.subscription.subscriber)),
        );
        this.bus.route(subscriber.id, async (envelope, _previousSequence, claim) => {
          await inbox.receive(envelope, claim);
        });
        this.bus.routeBatch(subscriber.id, (envelopes, claims) => inbox.receiveBatch(envelopes, claims));
      }
    }
  }

  async start(): Promise<void> {
    await Promise.all([...this.relays.values()].map((relay) => relay.start()));
    if (!this.stream) return;
    try {
      for (const { name } of this.hosted) {
        for (const subscriber of this.registry.subscribersIn(name)) this.consumptions.push(await this.consume(this.stream, subscriber));
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Starts reading the stream for one subscriber, through the consumer its replicas share. */
  private async consume(stream: EventStream, subscriber: RegisteredSubscriber): Promise<StreamConsumption> {
    const resolve = this.resolve;
    if (!resolve) throw new Error('bindLocalSubscribers() comes before start()');
    const { publisher } = subscriber.subscription;
    const module = subscriber.module;
    let handler: EventSubscriber<object> | undefined;
    const consumption = await stream.consume({ consumer: consumerName(subscriber, publisher), publisher }, (startSequence) => {
      const inbox = new StreamInbox(
        subscriber,
        publisher,
        this.databases.get(module),
        this.transactionsFor(module),
        this.store(module),
        () => (handler ??= resolve(subscriber.subscription.subscriber)),
        this.options,
        startSequence,
      );
      return (batch) => inbox.receive(batch);
    });
    this.logger.log(`${subscriber.id} reads ${publisher}'s events from the stream (consumer start ${consumption.startSequence})`);
    return consumption;
  }

  /** Stops reading the stream (batches in hand are finished), then the relays. */
  async stop(): Promise<void> {
    await Promise.all(this.consumptions.splice(0).map((consumption) => consumption.stop()));
    await Promise.all([...this.relays.values()].map((relay) => relay.stop()));
  }

  wake(module: string): void {
    this.relays.get(module)?.wake();
  }

  store(module: string): OutboxStore {
    const store = this.stores.get(module);
    if (!store) throw new Error(`module '${module}' is not hosted by this process`);
    return store;
  }

  async stats(): Promise<Record<string, OutboxStats>> {
    const entries = await Promise.all([...this.stores].map(async ([name, store]) => [name, await store.stats()] as const));
    return Object.fromEntries(entries);
  }

  /** The stream consumers of this process's subscribers, as the stream sees them (none in one process). */
  async consumerStats(): Promise<ConsumerStats[]> {
    return Promise.all(this.consumptions.map((consumption) => consumption.stats()));
  }

  async deadLetters(module: string): Promise<DeadLetter[]> {
    return this.store(module).deadLetters();
  }

  async replay(module: string, eventId?: string): Promise<number> {
    const replayed = await this.store(module).replay(eventId);
    this.wake(module);
    return replayed;
  }
}

/** The durable consumer's name: one per subscriber and publisher, the same in every replica and build. */
export function consumerName(subscriber: RegisteredSubscriber, publisher: string): string {
  return `${subscriber.module}_${subscriber.subscription.name}_from_${publisher}`;
}
