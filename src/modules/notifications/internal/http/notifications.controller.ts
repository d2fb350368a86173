import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { answerPage, ApiPage } from '../../../../platform/index.js';
import { FindNotificationsQuery } from '../../contract/find-notifications.query.js';
import { NotificationView } from '../../contract/notification.view.js';
import { InjectNotifications, type Notifications } from '../../contract/notifications.contract.js';

/**
 * Notifications' public HTTP route: read-only, since notifications are made
 * from events only. Served by any gateway process, so it only speaks to the contract.
 */
@Controller('notifications')
export class NotificationsController {
  constructor(@InjectNotifications() private readonly notifications: Notifications) {}

  /** A page of a customer's notifications, oldest first; `[]` for a customer who has none (yet: they follow the order's status shortly). */
  @Get()
  @ApiPage(NotificationView)
  async find(@Query() query: FindNotificationsQuery, @Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<NotificationView[]> {
    return answerPage(request, response, await this.notifications.findNotifications(query));
  }
}
