import { Injectable } from '@nestjs/common';
import type { ContractHandler } from '../../../platform/index.js';
import type { FindNotificationsQuery } from '../contract/find-notifications.query.js';
import type { NotificationView } from '../contract/notification.view.js';
import type { NotificationsContract } from '../contract/notifications.contract.js';
import { FindNotificationsHandler } from './find-notifications/find-notifications.handler.js';

/** Notifications' contract, implemented by routing each operation to its use case. */
@Injectable()
export class NotificationsHandler implements ContractHandler<typeof NotificationsContract> {
  constructor(private readonly findNotificationsHandler: FindNotificationsHandler) {}

  findNotifications(query: FindNotificationsQuery): Promise<NotificationView[]> {
    return this.findNotificationsHandler.execute(query);
  }
}
