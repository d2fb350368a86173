import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { type IQueryHandler, Keyset, MODULE_DATA_SOURCE, type Page, QueryHandler } from '../../../../platform/index.js';
import { FindNotificationsQuery } from '../../contract/find-notifications.query.js';
import type { NotificationView } from '../../contract/notification.view.js';
import { NotificationEntity } from '../infrastructure/notification.entity.js';
import { toNotificationView } from '../infrastructure/notification.mapper.js';

/**
 * Oldest first, in the order notifications were made (per order, the order its events happened
 * in): by position, a bigserial, so unique; read through the index on (customer_id, position).
 */
const BY_POSITION = new Keyset('notifications', [{ column: 'position', part: 'bigint' }]);

@Injectable()
@QueryHandler(FindNotificationsQuery)
export class FindNotificationsHandler implements IQueryHandler<FindNotificationsQuery, Page<NotificationView>> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(query: FindNotificationsQuery): Promise<Page<NotificationView>> {
    const filter = { customerId: query.customerId };
    const request = BY_POSITION.request(query, filter);
    const notifications = this.db
      .getRepository(NotificationEntity)
      .createQueryBuilder('n')
      .where('n.customer_id = :customerId', { customerId: query.customerId });
    return BY_POSITION.read(notifications, request, filter, toNotificationView);
  }
}
