import type { ModuleDefinition } from '../modules/module-definition.js';
import { eventOptions } from '../contracts/integration-event.js';
import type { Subscription } from '../modules/subscription.js';

export interface RegisteredSubscriber {
  /** `<module>.<subscription name>`: the key of deliveries and inbox records. */
  readonly id: string;
  readonly module: string;
  readonly subscription: Subscription;
}

/**
 * Who subscribes to what, across every module of the build, hosted here or not:
 * a publisher writes one delivery per subscriber wherever that subscriber runs.
 */
export class EventRegistry {
  private readonly byEvent = new Map<string, RegisteredSubscriber[]>();
  private readonly byId = new Map<string, RegisteredSubscriber>();

  constructor(definitions: readonly ModuleDefinition[]) {
    for (const definition of definitions) {
      for (const subscription of definition.subscriptions ?? []) {
        const id = `${definition.name}.${subscription.name}`;
        if (this.byId.has(id)) throw new Error(`module '${definition.name}' has two subscriptions named '${subscription.name}'`);
        const subscriber = { id, module: definition.name, subscription };
        this.byId.set(id, subscriber);
        for (const event of subscription.events) {
          const { name } = eventOptions(event);
          this.byEvent.set(name, [...(this.byEvent.get(name) ?? []), subscriber]);
        }
      }
    }
  }

  subscribersOf(eventName: string): readonly RegisteredSubscriber[] {
    return this.byEvent.get(eventName) ?? [];
  }

  subscriber(id: string): RegisteredSubscriber | undefined {
    return this.byId.get(id);
  }

  subscribersIn(module: string): RegisteredSubscriber[] {
    return [...this.byId.values()].filter((subscriber) => subscriber.module === module);
  }
}
