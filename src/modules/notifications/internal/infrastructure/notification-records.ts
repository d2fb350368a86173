import type { EntityManager } from 'typeorm';
import { type HandlingStatement, queryPrepared } from '../../../../platform/index.js';
import type { NotificationKind } from '../../contract/notification.view.js';

export interface NewNotification {
  readonly customerId: string;
  readonly orderId: string;
  readonly kind: NotificationKind;
  readonly reason: string | null;
}

/**
 * The insert of notifications from `rows` (a FROM clause naming `n` with
 * customer_id, order_id, kind, reason and its ordinal `i`), in that order. A
 * notification the order already has for its kind is left as it is: UNIQUE
 * (order_id, kind) makes a redelivered event change nothing, even one the
 * inbox no longer remembers.
 */
const insertNotifications = (rows: string) =>
  `INSERT INTO notifications.notifications (customer_id, order_id, kind, reason)
   SELECT n.customer_id, n.order_id, n.kind, n.reason
     FROM ${rows}
    ORDER BY n.i
   ON CONFLICT (order_id, kind) DO NOTHING`;

/**
 * Records notifications, in the given order, in the subscriber's transaction (the
 * one that also records the event in the inbox). One statement whatever the
 * count. Prepared: it runs for every batch off the stream, and plans the same
 * whatever the data.
 */
export async function recordNotifications(manager: EntityManager, notifications: readonly NewNotification[]): Promise<void> {
  await queryPrepared(
    manager.connection,
    'notifications.record-notifications',
    insertNotifications('unnest($1::text[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS n (customer_id, order_id, kind, reason, i)'),
    [notifications.map((n) => n.customerId), notifications.map((n) => n.orderId), notifications.map((n) => n.kind), notifications.map((n) => n.reason)],
    manager.queryRunner,
  );
}

/**
 * The same as CTEs of the inbox's statement (`EventSubscriber.handleStatement`):
 * the notifications of the events the inbox has just recorded, each given with
 * the id of its event.
 */
export function recordNotificationsStatement(
  notifications: ReadonlyArray<{ readonly eventId: string; readonly notification: NewNotification }>,
  first: number,
): HandlingStatement {
  const $ = (n: number) => `$${first + n}`;
  return {
    name: 'record-notifications',
    ctes: `notifications_recorded AS (
       ${insertNotifications(
         `unnest(${$(0)}::uuid[], ${$(1)}::text[], ${$(2)}::uuid[], ${$(3)}::text[], ${$(4)}::text[])
              WITH ORDINALITY AS n (event_id, customer_id, order_id, kind, reason, i)
         JOIN inbox_recorded r ON r.event_id = n.event_id`,
       )}
     )`,
    params: [
      notifications.map((n) => n.eventId),
      notifications.map((n) => n.notification.customerId),
      notifications.map((n) => n.notification.orderId),
      notifications.map((n) => n.notification.kind),
      notifications.map((n) => n.notification.reason),
    ],
  };
}
