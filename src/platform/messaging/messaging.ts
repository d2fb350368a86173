import type { Type } from '@nestjs/common';
import type { ModuleDatabases } from '../database/module-databases.js';
import type { ModuleDefinition } from '../modules/module-definition.js';
import { EventRegistry } from './event-registry.js';
import { Inbox } from './inbox.js';
import { MessageBus } from './message-bus.js';
import { DEFAULT_MESSAGING_OPTIONS, type MessagingOptions } from './messaging-options.js';
import { ModuleTransactions } from './module-transactions.js';
import { OutboxRelay } from './outbox-relay.js';
import { type DeadLetter, OutboxStore, type OutboxStats } from './outbox.store.js';
import type { EventHandler } from './subscription.js';

/**
 * Reliable events for the modules this process hosts: for each, its outbox,
 * its transactions (the only way to publish), a relay, and an inbox per
 * subscription. Knows modules only through their definitions.
 */
export class Messaging {
  readonly bus = new MessageBus();
  readonly registry: EventRegistry;
  private readonly stores = new Map<string, OutboxStore>();
  private readonly transactions = new Map<string, ModuleTransactions>();
  private readonly relays = new Map<string, OutboxRelay>();

  constructor(
    definitions: readonly ModuleDefinition[],
    private readonly hosted: readonly ModuleDefinition[],
    private readonly databases: ModuleDatabases,
    options: MessagingOptions = DEFAULT_MESSAGING_OPTIONS,
  ) {
    this.registry = new EventRegistry(definitions);
    for (const { name } of hosted) {
      const db = databases.get(name);
      const store = new OutboxStore(name, db);
      this.stores.set(name, store);
      this.transactions.set(name, new ModuleTransactions(name, db, store, this.registry, this.bus));
      this.relays.set(name, new OutboxRelay(store, this.bus, options, databases.connectionUrl(name)));
    }
  }

  transactionsFor(module: string): ModuleTransactions {
    const transactions = this.transactions.get(module);
    if (!transactions) throw new Error(`module '${module}' is not hosted by this process`);
    return transactions;
  }

  /** Routes every subscription of the hosted modules to its inbox; `resolve` finds handler instances. */
  bindLocalSubscribers(resolve: <T>(type: Type<T>) => T): void {
    for (const { name } of this.hosted) {
      for (const subscriber of this.registry.subscribersIn(name)) {
        let handler: EventHandler<object> | undefined;
        const inbox = new Inbox(subscriber, this.databases.get(name), this.transactionsFor(name), () =>
          (handler ??= resolve(subscriber.subscription.handler)),
        );
        this.bus.route(subscriber.id, async (envelope) => {
          await inbox.receive(envelope);
        });
      }
    }
  }

  async start(): Promise<void> {
    await Promise.all([...this.relays.values()].map((relay) => relay.start()));
  }

  async stop(): Promise<void> {
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

  async deadLetters(module: string): Promise<DeadLetter[]> {
    return this.store(module).deadLetters();
  }

  async replay(module: string, eventId?: string): Promise<number> {
    const replayed = await this.store(module).replay(eventId);
    this.wake(module);
    return replayed;
  }
}
