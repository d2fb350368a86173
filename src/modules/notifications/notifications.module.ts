import { subscribe } from '../../platform/messaging/subscription.js';
import { defineModule } from '../../platform/modules/module-definition.js';
import { OrderCancelled, OrderConfirmed } from '../orders/index.js';
import { NotificationsContract } from './contract/notifications.contract.js';
import { NotificationsHttpModule } from './internal/http/notifications-http.module.js';
import { NotificationEntity } from './internal/infrastructure/notification.entity.js';
import { NotificationsCoreModule } from './internal/notifications-core.module.js';
import { NotifyOrderCancelledHandler } from './internal/notify-order-cancelled/notify-order-cancelled.handler.js';
import { NotifyOrderConfirmedHandler } from './internal/notify-order-confirmed/notify-order-confirmed.handler.js';

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
  // The names key deliveries and inbox records (`notifications.order-confirmed`): keep them stable.
  subscriptions: [
    subscribe(OrderConfirmed, NotifyOrderConfirmedHandler, 'order-confirmed'),
    subscribe(OrderCancelled, NotifyOrderCancelledHandler, 'order-cancelled'),
  ],
});
