import type { Type } from '@nestjs/common';
import type { Contract, OperationUse } from '../contracts/contract.js';
import type { Subscription } from './subscription.js';

/**
 * What a module tells the platform about itself, from its composition root
 * `src/modules/<name>/<name>.module.ts` (default export). The platform never
 * names a module: it discovers these from the folder layout.
 */
export interface ModuleDefinition {
  /** Equal to the folder name; also the module's schema name. */
  readonly name: string;
  readonly contract: Contract;
  /**
   * The Nest module that hosts the implementation: among its providers, a
   * @CommandHandler or @QueryHandler of each operation's input class (checked at start).
   */
  readonly core: Type<unknown>;
  /** The Nest module with the module's public HTTP routes; it may only use contract clients. */
  readonly http?: Type<unknown>;
  /** TypeORM entities, all mapped to the module's own schema. */
  readonly entities: readonly Function[];
  /** Events (of any module's contract) this module handles; each handler is a provider of `core`. */
  readonly subscriptions?: readonly Subscription[];
  /**
   * The operations of other modules its own code calls (`uses(InventoryContract, 'reserveStock')`):
   * each of a module in module.json `calls`. A process hosting it may send these and no others
   * over an authorized NATS (npm run nats-auth, ADR 21).
   */
  readonly calls?: readonly OperationUse[];
  /** The operations its HTTP routes call (of its own contract, or of a module it `calls`): what a gateway may send. */
  readonly httpCalls?: readonly OperationUse[];
}

export function defineModule(definition: ModuleDefinition): ModuleDefinition {
  return definition;
}

/**
 * How a module may use another, as declared in its `module.json`:
 * - `calls`: synchronous request/reply through the other's contract client
 *   (and, with it, its types and events);
 * - `events`: only the other's events and contract types, never its client.
 */
export type DependencyKind = 'calls' | 'events';

/** A module's `module.json`: what it declares about itself for the boundary checks (`npm run verify`). */
export interface ModuleManifest {
  /** Every module whose contract this module may use, whatever the kind, sorted. */
  readonly dependsOn: readonly string[];
  /** Those it calls synchronously: the edges of the synchronous-chain check. */
  readonly calls: readonly string[];
  /** Those whose events (and contract types) only it uses. */
  readonly events: readonly string[];
}

export interface DiscoveredModule {
  readonly definition: ModuleDefinition;
  readonly manifest: ModuleManifest;
  /** `migrations/<name>/` beside the `src/` the module was found in. */
  readonly migrationsDir: string;
}
