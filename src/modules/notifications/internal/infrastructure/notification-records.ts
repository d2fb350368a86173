import type { EntityManager } from 'typeorm';
import { queryPrepared } from '../../../../platform/index.js';
import type { NotificationKind } from '../../contract/notification.view.js';

export interface NewNotification {
  readonly customerId: string;
  readonly orderId: string;
  readonly kind: NotificationKind;
  readonly reason: string | null;
}

/**
 * Records notifications, in the given order, in the subscriber's transaction (the
 * one that also records the event in the inbox). One statement whatever the
 * count. A notification the order already has for its kind is left as it is:
 * UNIQUE (order_id, kind) makes a redelivered event change nothing, even one
 * the inbox no longer remembers. Prepared: it runs for every batch a relay
 * hands over, and plans the same whatever the data.
 */
export async function recordNotifications(manager: EntityManager, notifications: readonly NewNotification[]): Promise<void> {
  await queryPrepared(
    manager.connection,
    'notifications.record-notifications',
    `INSERT INTO notifications.notifications (customer_id, order_id, kind, reason)
     SELECT n.customer_id, n.order_id, n.kind, n.reason
       FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS n (customer_id, order_id, kind, reason, i)
      ORDER BY n.i
     ON CONFLICT (order_id, kind) DO NOTHING`,
    [
      notifications.map((n) => n.customerId),
      notifications.map((n) => n.orderId),
      notifications.map((n) => n.kind),
      notifications.map((n) => n.reason),
    ],
    manager.queryRunner,
  );
}
