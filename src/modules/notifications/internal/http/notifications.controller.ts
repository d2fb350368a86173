import { Controller, Get, Query } from '@nestjs/common';
import { FindNotificationsQuery } from '../../contract/find-notifications.query.js';
import type { NotificationView } from '../../contract/notification.view.js';
import { InjectNotifications, type Notifications } from '../../contract/notifications.contract.js';

/**
 * Notifications' public HTTP route: read-only, since notifications are made
 * from events only. Served by any gateway process, so it only speaks to the contract.
 */
@Controller('notifications')
export class NotificationsController {
  constructor(@InjectNotifications() private readonly notifications: Notifications) {}

  /** A customer's notifications, oldest first; `[]` for a customer who has none (yet: they follow the order's status shortly). */
  @Get()
  find(@Query() query: FindNotificationsQuery): Promise<NotificationView[]> {
    return this.notifications.findNotifications({ customerId: query.customerId });
  }
}
