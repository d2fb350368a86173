import type { EntityManager } from 'typeorm';

/**
 * A database transaction of one module. Events can only be published through
 * it, so an event is written to the module's outbox in the same transaction
 * as the state change that caused it: both commit, or neither does.
 */
export interface ModuleTransaction {
  /** TypeORM's manager bound to this transaction, connected as the module's role. */
  readonly manager: EntityManager;
  /** Queues an event of this module's contract; it is written to the outbox before commit. */
  publish(event: object): void;
}
