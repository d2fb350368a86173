import { Injectable } from '@nestjs/common';
import type { EventContext } from '../../../../platform/index.js';
import type { OrderConfirmed } from '../../../orders/index.js';
import { type NewNotification, recordNotifications } from '../infrastructure/notification-records.js';

/** Orders confirmed an order: tell its customer. */
@Injectable()
export class OrderConfirmedNotice {
  notification(event: OrderConfirmed): NewNotification {
    return { customerId: event.customerId, orderId: event.orderId, kind: 'ORDER_CONFIRMED', reason: null };
  }

  /** Alone, as the subscriber's `handle` does it for one event. */
  async record(event: OrderConfirmed, context: EventContext): Promise<void> {
    await recordNotifications(context.tx.manager, [this.notification(event)]);
  }
}
