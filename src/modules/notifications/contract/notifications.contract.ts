import { Inject } from '@nestjs/common';
import { type ContractClient, defineContract, type Page, query } from '../../../platform/contracts/index.js';
import { FindNotificationsQuery } from './find-notifications.query.js';
import type { NotificationView } from './notification.view.js';

/**
 * Notifications only listens: no module calls it, and its one operation is the
 * query the gateway serves `GET /notifications` through, wherever the module runs:
 * a page of a customer's list, never the whole of it (a reply is bounded, over NATS too).
 */
export const NotificationsContract = defineContract('notifications', {
  findNotifications: query<FindNotificationsQuery, Page<NotificationView>>(FindNotificationsQuery),
});

/** What the gateway holds to talk to Notifications, wherever it runs. */
export type Notifications = ContractClient<typeof NotificationsContract>;

/** Parameter decorator: `constructor(@InjectNotifications() notifications: Notifications)`. */
export const InjectNotifications = (): ParameterDecorator => Inject(NotificationsContract.client);
