export type NotificationKind = 'ORDER_CONFIRMED' | 'ORDER_CANCELLED' | 'REVIEW_REQUESTED';

/**
 * A notification as Notifications shows it (store-api.md): what happened to
 * one of a customer's orders. `reason` is null for a confirmation and the
 * order's failureReason for a cancellation (null for a review request). `createdAt` is an ISO-8601 string,
 * the same on the wire and in process.
 */
export class NotificationView {
  readonly notificationId: string;
  readonly customerId: string;
  readonly orderId: string;
  readonly kind: NotificationKind;
  readonly reason: string | null;
  readonly createdAt: string;
}
