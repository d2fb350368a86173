import type { FailureReason } from '../../contract/order.view.js';
import type { SagaStep } from './checkout-saga.js';

/** What the runner holds while it advances one saga: its state and what the steps need of the order. */
export interface ClaimedSaga {
  readonly orderId: string;
  readonly step: SagaStep;
  readonly failureReason: FailureReason | null;
  readonly attempts: number;
  readonly deadlineAt: Date;
  /** Optimistic lock: every write of the saga checks and bumps it. */
  readonly version: number;
  readonly order: SagaOrder;
  /** W3C headers of the trace that placed the order: the steps continue it. */
  readonly traceContext: Readonly<Record<string, string>>;
}

export interface SagaOrder {
  readonly orderId: string;
  readonly totalCents: number;
  readonly paymentToken: string;
  readonly lines: ReadonlyArray<{ readonly sku: string; readonly quantity: number }>;
  readonly shippingAddress: {
    readonly name: string;
    readonly line1: string;
    readonly city: string;
    readonly postalCode: string;
    readonly country: string;
  };
}
