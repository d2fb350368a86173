import { Module } from '@nestjs/common';
import { FindNotificationsHandler } from './find-notifications/find-notifications.handler.js';
import { NotifyCustomerSubscriber } from './notify-customer/notify-customer.subscriber.js';
import { OrderCancelledNotice } from './notify-order-cancelled/order-cancelled.notice.js';
import { OrderConfirmedNotice } from './notify-order-confirmed/order-confirmed.notice.js';
import { ReviewRequestedNotice } from './notify-review-requested/review-requested.notice.js';

/** Hosts Notifications' implementation: its event subscriber (and the notices it records) and its one query. */
@Module({
  providers: [NotifyCustomerSubscriber, OrderConfirmedNotice, OrderCancelledNotice, ReviewRequestedNotice, FindNotificationsHandler],
})
export class NotificationsCoreModule {}
