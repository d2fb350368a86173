import { Injectable } from '@nestjs/common';
import { type NewNotification, recordNotifications, recordNotificationsStatement } from '../infrastructure/notification-records.js';
import type { EventContext, EventSubscriber, HandlingStatement } from '../../../../platform/index.js';
import { OrderCancelled, type OrderConfirmed, ReviewRequested } from '../../../orders/index.js';
import { OrderCancelledNotice } from '../notify-order-cancelled/order-cancelled.notice.js';
import { OrderConfirmedNotice } from '../notify-order-confirmed/order-confirmed.notice.js';
import { ReviewRequestedNotice } from '../notify-review-requested/review-requested.notice.js';

type OrderOutcome = OrderConfirmed | OrderCancelled | ReviewRequested;

/**
 * The one subscription to what happens to an order. One subscription, so the
 * platform hands an order's OrderConfirmed, OrderCancelled and ReviewRequested
 * over in the order they happened (a customer's cancellation after its
 * confirmation, a review after it), in one process or across many.
 */
@Injectable()
export class NotifyCustomerSubscriber implements EventSubscriber<OrderOutcome> {
  constructor(
    private readonly confirmed: OrderConfirmedNotice,
    private readonly cancelled: OrderCancelledNotice,
    private readonly review: ReviewRequestedNotice,
  ) {}

  handle(event: OrderOutcome, context: EventContext): Promise<void> {
    if (event instanceof ReviewRequested) return this.review.record(event, context);
    return event instanceof OrderCancelled ? this.cancelled.record(event, context) : this.confirmed.record(event, context);
  }

  /** A batch off the stream: its notifications in one statement, in the order of its events. */
  async handleBatch(events: ReadonlyArray<{ readonly event: OrderOutcome; readonly context: EventContext }>): Promise<void> {
    await recordNotifications(
      events[0].context.tx.manager,
      events.map(({ event }) => this.notification(event)),
    );
  }

  /** In this process: the notifications with the inbox's record of their events, in one statement. */
  handleStatement(events: ReadonlyArray<{ readonly event: OrderOutcome; readonly eventId: string }>, first: number): HandlingStatement {
    return recordNotificationsStatement(
      events.map(({ event, eventId }) => ({ eventId, notification: this.notification(event) })),
      first,
    );
  }

  private notification(event: OrderOutcome): NewNotification {
    if (event instanceof ReviewRequested) return this.review.notification(event);
    return event instanceof OrderCancelled ? this.cancelled.notification(event) : this.confirmed.notification(event);
  }
}
