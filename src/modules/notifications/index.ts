/**
 * Notifications' public face: the only file of this module other modules may
 * import. Everything under `internal/` is private to the module.
 */
export { NotificationsContract, type Notifications, InjectNotifications } from './contract/notifications.contract.js';
export { FindNotificationsQuery } from './contract/find-notifications.query.js';
export type { NotificationKind, NotificationView } from './contract/notification.view.js';
