import type { NotificationView } from '../../contract/notification.view.js';
import type { NotificationEntity } from './notification.entity.js';

export function toNotificationView(notification: NotificationEntity): NotificationView {
  return {
    notificationId: notification.id,
    customerId: notification.customerId,
    orderId: notification.orderId,
    kind: notification.kind,
    reason: notification.reason,
    // The driver answers a Date; a view must be the same value in process as after a trip through JSON.
    createdAt: new Date(notification.createdAt).toISOString(),
  };
}
