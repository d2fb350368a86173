import { Injectable, type Type } from '@nestjs/common';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { eventOptions } from '../contracts/integration-event.js';
import { ident } from '../database/provisioning.js';
import { type EventContext, type EventSubscriber, type Subscription, subscribe } from '../modules/subscription.js';

/**
 * Signals: what ends a saga's wait early (ADR 29). A signal is a row of the
 * owning module's `saga_signals`, keyed by (saga, key, name, id): recorded
 * once per id, kept until a wait of that saga consumes it, so one that comes
 * before its wait begins is not lost. Recording it makes a saga waiting for
 * it due (the due-claim of any replica takes it) and wakes this process's
 * runner after the commit.
 */
export interface Signal {
  readonly saga: string;
  readonly key: string;
  readonly name: string;
  /** Its identity: the same signal twice (an event redelivered, a webhook retried) counts once. */
  readonly id: string;
  readonly payload?: Readonly<Record<string, unknown>>;
}

/** A signal's name for an integration event: the event's contract name (`shipping.ShipmentDelivered`). */
export function signalOf(event: Type<object>): string {
  return eventOptions(event).name;
}

/**
 * One statement: the signal, unless recorded already, and its saga's `signals`
 * count (and, if it waits for it, `next_run_at`: due now). The saga's row is
 * updated whatever its state, so a runner entering a wait in a concurrent
 * statement sees the count move (SagaStore.advance). Answers whether it was new.
 */
export async function recordSignal(db: DataSource | EntityManager, schema: string, signal: Signal): Promise<boolean> {
  const s = ident(schema);
  const rows: Array<{ recorded: number }> = await db.query(
    `WITH recorded AS (
       INSERT INTO ${s}.saga_signals (saga, key, name, signal_id, payload) VALUES ($1, $2, $3, $4, $5::jsonb)
       ON CONFLICT DO NOTHING RETURNING 1
     ), counted AS (
       UPDATE ${s}.sagas s
          SET signals = s.signals + 1,
              next_run_at = CASE WHEN s.status = 'WAITING' AND $3 = ANY(s.awaiting) THEN least(s.next_run_at, now()) ELSE s.next_run_at END
        WHERE s.saga = $1 AND s.key = $2 AND EXISTS (SELECT 1 FROM recorded)
     )
     SELECT count(*)::int AS recorded FROM recorded`,
    [signal.saga, signal.key, signal.name, signal.id, JSON.stringify(signal.payload ?? {})],
  );
  const recorded = rows[0].recorded > 0;
  if (recorded) afterCommit(db, () => sagaWakeups.wake(schema, signal.saga));
  return recorded;
}

/** This process's runners, by module and saga: a signal recorded here wakes them at once (another process's find it due). */
export const sagaWakeups = {
  listeners: new Map<string, Set<() => void>>(),
  on(module: string, saga: string, wake: () => void): () => void {
    const id = `${module}/${saga}`;
    const set = this.listeners.get(id) ?? new Set();
    set.add(wake);
    this.listeners.set(id, set);
    return () => set.delete(wake);
  },
  wake(module: string, saga: string): void {
    for (const wake of this.listeners.get(`${module}/${saga}`) ?? []) wake();
  },
};

const pending = new WeakMap<QueryRunner, Array<() => void>>();
const watched = new WeakSet<DataSource>();

/** Runs `callback` once the transaction `db` belongs to commits (at once outside one); never if it rolls back. */
function afterCommit(db: DataSource | EntityManager, callback: () => void): void {
  const runner = 'queryRunner' in db ? db.queryRunner : undefined;
  if (!runner?.isTransactionActive) {
    callback();
    return;
  }
  const source = runner.connection;
  if (!watched.has(source)) {
    watched.add(source);
    const take = (event: { queryRunner: QueryRunner }) => {
      const callbacks = pending.get(event.queryRunner);
      pending.delete(event.queryRunner);
      return callbacks ?? [];
    };
    source.subscribers.push({
      afterTransactionCommit: (event: { queryRunner: QueryRunner }) => {
        for (const run of take(event)) run();
      },
      afterTransactionRollback: (event: { queryRunner: QueryRunner }) => void take(event),
    });
  }
  pending.set(runner, [...(pending.get(runner) ?? []), callback]);
}

/**
 * Integration events as signals of a saga, by the saga's key (ADR 29): a
 * subscription of the owning module, delivered like every event (outbox,
 * inbox, stream), whose handling records the signal in the inbox's
 * transaction. Declare `subscription` in the module's definition and
 * `subscriber` among its core's providers; a step then waits with
 * `waitFor: { signals: { [signalOf(Event)]: ... }, deadlineMs }`.
 */
export function eventSignals<E extends object>(options: {
  /** The owning module (whose schema keeps the saga). */
  readonly module: string;
  readonly saga: string;
  readonly events: readonly Type<E>[];
  /** The saga's key in the event (an order's id). */
  readonly key: (event: E) => string;
}): { readonly subscription: Subscription<E>; readonly subscriber: Type<EventSubscriber<E>>; readonly names: readonly string[] } {
  const names = options.events.map((event) => signalOf(event));
  class SagaSignalSubscriber implements EventSubscriber<E> {
    async handle(event: E, context: EventContext): Promise<void> {
      await recordSignal(context.tx.manager, options.module, {
        saga: options.saga,
        key: options.key(event),
        name: eventOptions(event.constructor).name,
        id: context.eventId,
        payload: JSON.parse(JSON.stringify(event)) as Record<string, unknown>,
      });
    }
  }
  Object.defineProperty(SagaSignalSubscriber, 'name', { value: `${options.saga.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}SagaSignals` });
  Injectable()(SagaSignalSubscriber);
  return { subscription: subscribe([...options.events], SagaSignalSubscriber, `${options.saga}-saga-signals`), subscriber: SagaSignalSubscriber, names };
}
