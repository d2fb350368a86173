import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { eventOptions, isIntegrationEventType } from '../../src/platform/contracts/integration-event.js';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { migrationTables, type Table } from './migration-tables.js';

export interface OperationDoc {
  readonly name: string;
  readonly kind: 'command' | 'query';
  readonly input: string;
  readonly idempotent: boolean;
}

export interface EventDoc {
  /** `<module>.<PastTense>`: the module before the dot publishes it. */
  readonly name: string;
  readonly version: number;
  readonly aggregateKey: string;
}

export interface SubscriptionDoc {
  readonly event: EventDoc;
  readonly publisher: string;
  readonly name: string;
  readonly subscriber: string;
}

export interface ModuleDoc {
  readonly name: string;
  readonly calls: readonly string[];
  readonly events: readonly string[];
  readonly operations: readonly OperationDoc[];
  readonly published: readonly EventDoc[];
  readonly consumed: readonly SubscriptionDoc[];
  readonly tables: readonly Table[];
}

/**
 * The architecture as the code has it: each module's definition loaded the way
 * the platform loads it (from `<root>/src/modules`, compiled), its index.ts
 * exports for the events it publishes, its module.json, its migrations.
 */
export async function architectureModel(root: string): Promise<ModuleDoc[]> {
  const modulesRoot = join(root, 'src', 'modules');
  const discovered = await discoverModules(modulesRoot);
  const published = new Map<string, Map<string, EventDoc>>(discovered.map((m) => [m.definition.name, new Map()]));
  const publish = (event: EventDoc) => published.get(publisherOf(event))?.set(event.name, event);
  for (const { definition } of discovered) {
    // The public face: @IntegrationEvent classes it exports are the events the module publishes.
    const index = ['js', 'ts'].map((ext) => join(modulesRoot, definition.name, `index.${ext}`)).find(existsSync);
    if (!index) continue;
    const exports = (await import(pathToFileURL(index).href)) as Record<string, unknown>;
    for (const value of Object.values(exports)) if (isIntegrationEventType(value)) publish(eventDoc(value));
  }
  const docs = discovered.map(({ definition, manifest, migrationsDir }): ModuleDoc => {
    const consumed = (definition.subscriptions ?? []).flatMap((subscription) =>
      subscription.events.map((type): SubscriptionDoc => {
        const event = eventDoc(type);
        publish(event); // a subscribed event is published by the module its name says, exported or not
        return { event, publisher: publisherOf(event), name: subscription.name, subscriber: subscription.subscriber.name };
      }),
    );
    return {
      name: definition.name,
      calls: manifest.calls,
      events: manifest.events,
      operations: Object.entries(definition.contract.operations)
        .map(([name, spec]) => ({ name, kind: spec.kind, input: spec.input.name, idempotent: spec.idempotent }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      published: [],
      consumed: consumed.sort((a, b) => a.event.name.localeCompare(b.event.name) || a.name.localeCompare(b.name)),
      tables: migrationTables(migrationsDir),
    };
  });
  return docs.map((doc) => ({
    ...doc,
    published: [...(published.get(doc.name)?.values() ?? [])].sort((a, b) => a.name.localeCompare(b.name)),
  }));
}

function eventDoc(type: Function): EventDoc {
  const { name, version, aggregateKey } = eventOptions(type);
  return { name, version, aggregateKey };
}

export function publisherOf(event: EventDoc): string {
  return event.name.slice(0, event.name.indexOf('.'));
}

export function shortName(event: EventDoc): string {
  return event.name.slice(event.name.indexOf('.') + 1);
}
