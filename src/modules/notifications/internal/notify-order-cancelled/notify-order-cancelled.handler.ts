import { Injectable } from '@nestjs/common';
import type { EventContext, EventHandler } from '../../../../platform/messaging/subscription.js';
import type { OrderCancelled } from '../../../orders/index.js';
import { type NewNotification, recordNotifications } from '../infrastructure/notification-records.js';

/**
 * Reasons for which the order was CONFIRMED before it was cancelled (store-api.md:
 * only a confirmed order can be cancelled by its customer).
 */
const CANCELLED_AFTER_CONFIRMATION: ReadonlySet<string> = new Set(['CANCELLED_BY_CUSTOMER']);

/**
 * Orders cancelled an order: tell its customer why. OrderConfirmed and
 * OrderCancelled reach this module through two subscriptions, and the platform
 * orders the events of one order within a subscription, not across two: an
 * OrderConfirmed whose delivery is being retried could be handled after the
 * cancellation. So a cancellation that follows a confirmation records the
 * confirmation first if it is not there yet (it says nothing the cancellation
 * does not tell); the late OrderConfirmed then finds it and adds nothing.
 */
@Injectable()
export class NotifyOrderCancelledHandler implements EventHandler<OrderCancelled> {
  async handle(event: OrderCancelled, context: EventContext): Promise<void> {
    const notifications: NewNotification[] = [];
    if (CANCELLED_AFTER_CONFIRMATION.has(event.reason)) {
      notifications.push({ customerId: event.customerId, orderId: event.orderId, kind: 'ORDER_CONFIRMED', reason: null });
    }
    notifications.push({ customerId: event.customerId, orderId: event.orderId, kind: 'ORDER_CANCELLED', reason: event.reason });
    await recordNotifications(context.tx.manager, notifications);
  }
}
