import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { type IQueryHandler, MODULE_DATA_SOURCE, QueryHandler } from '../../../../platform/index.js';
import { FindNotificationsQuery } from '../../contract/find-notifications.query.js';
import type { NotificationView } from '../../contract/notification.view.js';
import { NotificationEntity } from '../infrastructure/notification.entity.js';
import { toNotificationView } from '../infrastructure/notification.mapper.js';

@Injectable()
@QueryHandler(FindNotificationsQuery)
export class FindNotificationsHandler implements IQueryHandler<FindNotificationsQuery, NotificationView[]> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(query: FindNotificationsQuery): Promise<NotificationView[]> {
    const notifications = await this.db.getRepository(NotificationEntity).find({
      where: { customerId: query.customerId },
      // Oldest first, in the order they were made: per order, the order its events happened in.
      order: { position: 'ASC' },
    });
    return notifications.map(toNotificationView);
  }
}
