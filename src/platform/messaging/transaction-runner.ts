import type { Type } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { queryPrepared } from '../database/prepared-query.js';
import { describeFieldErrors } from '../validation/field-errors.js';
import { validateInput } from '../validation/validate-input.js';
import { publicationTraceHeaders } from '../observability/tracing.js';
import { eventOptions, isIntegrationEventType } from '../contracts/integration-event.js';
import type { MessageBus } from './message-bus.js';
import type { ModuleTransaction } from '../modules/module-transaction.js';
import type { OutboxStore, OutgoingEvent } from './outbox.store.js';

/** The events a one-statement unit of work may publish (see `TransactionRunner.statement`). */
export interface StatementEvents<R> {
  /** Every event type the statement can publish, whatever its rows. */
  readonly types: readonly Type<object>[];
  /** The events to publish, given the rows the statement answered. */
  readonly of: (rows: readonly R[]) => readonly object[];
}

/**
 * The only way a module changes its data and publishes events: inject it and
 * `run` a unit of work, or `statement` one that is a single SQL statement.
 * What the work publishes is validated and written to the module's outbox in
 * the same transaction; the relay wakes on commit.
 */
export class TransactionRunner {
  constructor(
    readonly module: string,
    private readonly db: DataSource,
    private readonly outbox: OutboxStore,
    /** Who gets a delivery of an event: its subscribers in-process, or the stream when events cross processes. */
    private readonly recipientsOf: (eventName: string) => readonly string[],
    private readonly bus: MessageBus,
  ) {}

  async run<T>(work: (tx: ModuleTransaction) => Promise<T>): Promise<T> {
    let published: readonly string[] = [];
    const result = await this.db.transaction(async (manager) => {
      const within = await this.within(manager, work);
      published = within.published;
      return within.value;
    });
    this.afterCommit(published);
    return result;
  }

  /**
   * A unit of work that is one SQL statement (typically a data-modifying CTE),
   * answering its rows. Postgres runs a lone statement atomically, so when no
   * event type in `events.types` has a subscriber (nothing would reach the
   * outbox), the statement is sent alone: one round trip instead of three
   * (BEGIN, statement, COMMIT), which on the checkout path is most of the cost.
   * Otherwise it runs in a transaction with the events `events.of(rows)` answers.
   * Events nobody subscribes to are not even built: there is no one to tell.
   * It runs as a prepared statement (see queryPrepared): `sql` must be of fixed text,
   * and `name` (kebab-case, unique in the module) is what traces call it.
   */
  async statement<R>(name: string, sql: string, params: readonly unknown[], events?: StatementEvents<R>): Promise<R[]> {
    const label = `${this.module}.${name}`;
    if (!events?.types.some((type) => this.stores(type))) return queryPrepared<R>(this.db, label, sql, params);
    return this.run(async (tx) => {
      const rows = await queryPrepared<R>(this.db, label, sql, params, tx.manager.queryRunner);
      for (const event of events.of(rows)) tx.publish(event);
      return rows;
    });
  }

  /**
   * For events that one statement of the caller's writes itself, known before
   * it runs: CTEs to put in the statement's WITH, which read the events from
   * parameters `$first`..`$first+7` (`outboxParams`) and write them only when
   * `when` (a condition on the statement's other CTEs) holds. No transaction
   * is needed around the statement: one round trip, where writing the events
   * after the statement's rows takes four (BEGIN, statement, outbox, COMMIT).
   * The text depends only on `first` and `when`: the statement stays prepared.
   */
  outboxCtes(first: number, when: string): string {
    return this.outbox.writeCtes(first, when);
  }

  /**
   * The parameters of `outboxCtes` for these events, validated, leaving out
   * those nobody subscribes to; once the statement has committed and written
   * them, call `afterCommit(ids)`.
   */
  async outboxParams(events: readonly object[]): Promise<{ params: unknown[]; ids: string[] }> {
    return this.outbox.writeParams(await this.deliverable(events));
  }

  /** Whether an event of `type` would be written to the outbox: whether anything may receive it. */
  stores(type: Type<object>): boolean {
    return this.recipientsOf(eventOptions(type).name).length > 0;
  }

  /**
   * Runs `work` in a transaction someone else opened (the inbox's); the caller
   * commits, then calls `afterCommit` with the ids of the events it published.
   */
  async within<T>(manager: EntityManager, work: (tx: ModuleTransaction) => Promise<T>): Promise<{ value: T; published: readonly string[] }> {
    const queued: object[] = [];
    const tx: ModuleTransaction = {
      manager,
      publish: (event: object) => {
        queued.push(event);
      },
    };
    const value = await work(tx);
    return { value, published: await this.outbox.write(manager, await this.deliverable(queued)) };
  }

  /**
   * The events as the outbox takes them, validated. Deliveries are fixed when an event is
   * published: one nobody subscribes to could never be delivered, so it is validated (a bug
   * still fails the transaction) but not stored.
   */
  private async deliverable(events: readonly object[]): Promise<OutgoingEvent[]> {
    const outgoing = await Promise.all(events.map((event) => this.toOutgoing(event)));
    return outgoing.filter((event) => event.subscribers.length > 0);
  }

  /** Tells the module's relay which events a commit wrote: it claims them by key, without a scan. */
  afterCommit(published: readonly string[]): void {
    if (published.length > 0) this.bus.committed(this.module, published);
  }

  private async toOutgoing(event: object): Promise<OutgoingEvent> {
    const type = event.constructor;
    if (!isIntegrationEventType(type)) throw new Error(`${type.name} is not an @IntegrationEvent`);
    const options = eventOptions(type);
    if (!options.name.startsWith(`${this.module}.`)) {
      throw new Error(`module '${this.module}' may only publish its own events, not '${options.name}'`);
    }
    // Serialise first, validate the serialised form: what subscribers will receive is what is checked.
    const payload = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
    const checked = await validateInput(type, payload);
    if (!checked.ok) throw new Error(`invalid ${options.name}: ${describeFieldErrors(checked.errors)}`);
    const aggregateId = payload[options.aggregateKey];
    if (typeof aggregateId !== 'string' && typeof aggregateId !== 'number') {
      throw new Error(`${options.name}.${options.aggregateKey} (its aggregate key) must be a string or number`);
    }
    return {
      name: options.name,
      version: options.version,
      aggregateId: String(aggregateId),
      payload,
      // The publication's trace travels in the outbox row: delivery and handling continue it.
      headers: publicationTraceHeaders(this.module, options.name),
      subscribers: this.recipientsOf(options.name),
    };
  }
}
