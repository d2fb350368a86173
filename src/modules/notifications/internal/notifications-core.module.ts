import { Module } from '@nestjs/common';
import { FindNotificationsHandler } from './find-notifications/find-notifications.handler.js';
import { NotifyCustomerHandler } from './notify-customer/notify-customer.handler.js';
import { NotifyOrderCancelledHandler } from './notify-order-cancelled/notify-order-cancelled.handler.js';
import { NotifyOrderConfirmedHandler } from './notify-order-confirmed/notify-order-confirmed.handler.js';

/** Hosts Notifications' implementation: its event handlers and its one query. */
@Module({
  providers: [
    NotifyCustomerHandler,
    NotifyOrderConfirmedHandler,
    NotifyOrderCancelledHandler,
    FindNotificationsHandler,
  ],
})
export class NotificationsCoreModule {}
