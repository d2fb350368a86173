import { Injectable } from '@nestjs/common';
import type { EventContext } from '../../../../platform/index.js';
import type { OrderCancelled } from '../../../orders/index.js';
import { type NewNotification, recordNotifications } from '../infrastructure/notification-records.js';

/** Orders cancelled an order: tell its customer why. */
@Injectable()
export class OrderCancelledNotice {
  notification(event: OrderCancelled): NewNotification {
    return { customerId: event.customerId, orderId: event.orderId, kind: 'ORDER_CANCELLED', reason: event.reason };
  }

  /** Alone, as the subscriber's `handle` does it for one event. */
  async record(event: OrderCancelled, context: EventContext): Promise<void> {
    await recordNotifications(context.tx.manager, [this.notification(event)]);
  }
}
