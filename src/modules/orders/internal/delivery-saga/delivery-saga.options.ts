import { ModuleSettings } from '../../../../platform/index.js';

/** How long a CONFIRMED order waits for its parcel, and a delivered one for its review (store-api.md). */
export interface DeliveryOptions {
  /** No carrier event this long after the delivery began: the order is undone, NOT_DELIVERED (DELIVERY_DEADLINE_MS). */
  readonly deadlineMs: number;
  /** A review is requested this long after the order was DELIVERED (REVIEW_DELAY_MS). */
  readonly reviewDelayMs: number;
}

export const DELIVERY_OPTIONS = Symbol('DELIVERY_OPTIONS');

const DAY_MS = 86_400_000;

export function deliveryOptions(settings: ModuleSettings): DeliveryOptions {
  return {
    // At least a second: tests set seconds; at most a year (the wait is a row, it costs nothing while it lasts).
    deadlineMs: settings.integer('DELIVERY_DEADLINE_MS', 3 * DAY_MS, 1_000, 365 * DAY_MS),
    reviewDelayMs: settings.integer('REVIEW_DELAY_MS', 7 * DAY_MS, 0, 365 * DAY_MS),
  };
}
