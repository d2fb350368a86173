import { defineModule, subscribe, uses } from '../../platform/index.js';
import { OrderCancelled, OrderConfirmed, ReviewRequested } from '../orders/index.js';
import { NotificationsContract } from './contract/notifications.contract.js';
import { NotificationsHttpModule } from './internal/http/notifications-http.module.js';
import { NotificationEntity } from './internal/infrastructure/notification.entity.js';
import { NotificationsCoreModule } from './internal/notifications-core.module.js';
import { NotifyCustomerSubscriber } from './internal/notify-customer/notify-customer.subscriber.js';

/**
 * Notifications' composition root: a module that only listens. It calls no
 * module and none calls it; it learns what happened to orders from Orders'
 * events, and keeps one notification per order and kind.
 */
export default defineModule({
  name: 'notifications',
  contract: NotificationsContract,
  core: NotificationsCoreModule,
  http: NotificationsHttpModule,
  entities: [NotificationEntity],
  httpCalls: [uses(NotificationsContract, 'findNotifications')],
  // One subscription, so an order's events arrive in the order they happened. Its name keys
  // deliveries, inbox records and the stream consumer (`notifications.order-outcomes`): keep it stable.
  subscriptions: [subscribe([OrderConfirmed, OrderCancelled, ReviewRequested], NotifyCustomerSubscriber, 'order-outcomes')],
});
