import type { EventContext, EventSubscriber, HandlingStatement } from '../../src/platform/index.js';
import type { RegisteredSubscriber } from '../../src/platform/messaging/event-registry.js';
import { subscribe } from '../../src/platform/modules/subscription.js';
import { EntryRecorded } from '../fixtures/messaging/src/modules/ledger/ledger.contract.js';

/** The three ways a subscriber may take events (EventSubscriber): one by one, in batches, as CTEs of the inbox's statement. */
export type SubscriberStyle = 'handle' | 'batch' | 'statement';

/** What the planned subscribers ask of the test's schedule. */
export interface HandlingPlan {
  /** Whether this attempt of `subscriber` at the event fails (each call is one attempt). */
  fails(subscriber: string, eventId: string, event: EntryRecorded): boolean;
  /** The event is handed to `subscriber` now: what must hold at that moment is checked here. */
  handedOver(subscriber: string, eventId: string): void;
}

export interface PlannedSubscriber {
  readonly registered: RegisteredSubscriber;
  readonly handler: EventSubscriber<EntryRecorded>;
}

/**
 * A subscriber of the messaging fixture's `ledger.EntryRecorded`, in module
 * `audit`, that records what it applies in `audit.seen` (account_id is
 * `<subscriber>|<account>`: one table for all subscribers) and fails when
 * `plan` says so: by throwing (handle, handleBatch) or, for the statement
 * form, with an error of the statement itself (a division by zero), so that
 * its inbox record is undone with it.
 */
export function plannedSubscriber(name: string, style: SubscriberStyle, plan: HandlingPlan): PlannedSubscriber {
  const id = `audit.${name}`;
  const attempt = (eventId: string, event: EntryRecorded): boolean => {
    plan.handedOver(id, eventId);
    return plan.fails(id, eventId, event);
  };
  const insert = async (rows: ReadonlyArray<{ event: EntryRecorded; context: EventContext }>): Promise<void> => {
    for (const { event, context } of rows) {
      if (attempt(context.eventId, event)) throw new Error(`planned failure of ${id} at ${context.eventId}`);
    }
    await rows[0].context.tx.manager.query(
      `INSERT INTO audit.seen (event_id, account_id, sequence, amount)
       SELECT e.event_id, e.account_id, e.sequence, e.amount
         FROM unnest($1::uuid[], $2::text[], $3::int[], $4::int[]) WITH ORDINALITY AS e (event_id, account_id, sequence, amount, n)
        ORDER BY e.n`,
      [rows.map((r) => r.context.eventId), rows.map((r) => `${id}|${r.event.accountId}`), rows.map((r) => r.event.sequence), rows.map((r) => r.event.amount)],
    );
  };
  const handler: EventSubscriber<EntryRecorded> = {
    handle: (event, context) => insert([{ event, context }]),
    ...(style === 'batch' ? { handleBatch: insert } : {}),
    ...(style === 'statement'
      ? {
          handleStatement: (events: ReadonlyArray<{ readonly event: EntryRecorded; readonly eventId: string }>, first: number): HandlingStatement => {
            const $ = (n: number) => `$${first + n}`;
            const failing = events.map(({ event, eventId }) => attempt(eventId, event));
            return {
              name: `planned-${name}`,
              ctes: `planned_seen AS (
                 INSERT INTO audit.seen (event_id, account_id, sequence, amount)
                 SELECT e.event_id, e.account_id, e.sequence, e.amount / CASE WHEN e.fails THEN 0 ELSE 1 END
                   FROM unnest(${$(0)}::uuid[], ${$(1)}::text[], ${$(2)}::int[], ${$(3)}::int[], ${$(4)}::boolean[])
                        WITH ORDINALITY AS e (event_id, account_id, sequence, amount, fails, n)
                   JOIN inbox_recorded r ON r.event_id = e.event_id
                  ORDER BY e.n
               )`,
              params: [
                events.map((e) => e.eventId),
                events.map((e) => `${id}|${e.event.accountId}`),
                events.map((e) => e.event.sequence),
                events.map((e) => e.event.amount),
                failing,
              ],
            };
          },
        }
      : {}),
  };
  // The class is only the subscription's declaration: the inbox is given `handler` itself.
  class Planned {}
  const subscription = subscribe(EntryRecorded, Planned as never, name) as unknown as RegisteredSubscriber['subscription'];
  return { registered: { id, module: 'audit', subscription }, handler };
}
