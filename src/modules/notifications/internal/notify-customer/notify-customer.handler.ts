import { Injectable } from '@nestjs/common';
import { recordNotifications } from '../infrastructure/notification-records.js';
import type { EventContext, EventHandler } from '../../../../platform/index.js';
import { OrderCancelled, type OrderConfirmed } from '../../../orders/index.js';
import { NotifyOrderCancelledHandler } from '../notify-order-cancelled/notify-order-cancelled.handler.js';
import { NotifyOrderConfirmedHandler } from '../notify-order-confirmed/notify-order-confirmed.handler.js';

/**
 * The one subscription to what ends an order. One subscription, so the
 * platform hands an order's OrderConfirmed and OrderCancelled over in the order
 * they happened (a customer's cancellation after its confirmation), in one
 * process or across many.
 */
@Injectable()
export class NotifyCustomerHandler implements EventHandler<OrderConfirmed | OrderCancelled> {
  constructor(
    private readonly confirmed: NotifyOrderConfirmedHandler,
    private readonly cancelled: NotifyOrderCancelledHandler,
  ) {}

  handle(event: OrderConfirmed | OrderCancelled, context: EventContext): Promise<void> {
    return event instanceof OrderCancelled ? this.cancelled.handle(event, context) : this.confirmed.handle(event, context);
  }

  /** A batch off the stream: its notifications in one statement, in the order of its events. */
  async handleBatch(events: ReadonlyArray<{ readonly event: OrderConfirmed | OrderCancelled; readonly context: EventContext }>): Promise<void> {
    await recordNotifications(
      events[0].context.tx.manager,
      events.map(({ event }) => (event instanceof OrderCancelled ? this.cancelled.notification(event) : this.confirmed.notification(event))),
    );
  }
}
