import { Injectable } from '@nestjs/common';
import type { EventContext } from '../../../../platform/index.js';
import type { ReviewRequested } from '../../../orders/index.js';
import { type NewNotification, recordNotifications } from '../infrastructure/notification-records.js';

/** Orders asks for a review of a delivered order: tell its customer. */
@Injectable()
export class ReviewRequestedNotice {
  notification(event: ReviewRequested): NewNotification {
    return { customerId: event.customerId, orderId: event.orderId, kind: 'REVIEW_REQUESTED', reason: null };
  }

  /** Alone, as the subscriber's `handle` does it for one event. */
  async record(event: ReviewRequested, context: EventContext): Promise<void> {
    await recordNotifications(context.tx.manager, [this.notification(event)]);
  }
}
