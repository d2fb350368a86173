import { Injectable } from '@nestjs/common';
import type { EventContext } from '../../../../platform/messaging/subscription.js';
import type { OrderConfirmed } from '../../../orders/index.js';
import { recordNotifications } from '../infrastructure/notification-records.js';

/** Orders confirmed an order: tell its customer. */
@Injectable()
export class NotifyOrderConfirmedHandler {
  async handle(event: OrderConfirmed, context: EventContext): Promise<void> {
    await recordNotifications(context.tx.manager, [
      { customerId: event.customerId, orderId: event.orderId, kind: 'ORDER_CONFIRMED', reason: null },
    ]);
  }
}
