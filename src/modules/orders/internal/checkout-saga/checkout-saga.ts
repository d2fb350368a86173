import type { FailureReason } from '../../contract/order.view.js';
import type { CheckoutStep, CheckoutStepStatus } from '../../contract/saga-step.view.js';

/**
 * The checkout saga as a pure state machine: given where it is and what the
 * last step answered, what to log and where to go. No I/O here, so every
 * path (including the compensations) is unit-tested in isolation.
 *
 * Forward: CHARGE_PAYMENT → RESERVE_STOCK → SCHEDULE_SHIPMENT → done (CONFIRMED).
 * Compensations run backwards from the failed step: RELEASE_STOCK, then
 * REFUND_PAYMENT → done (CANCELLED). VOID_SHIPMENT is the hidden half of a
 * timed-out SCHEDULE_SHIPMENT: it makes sure a schedule that answers late
 * can never leave a shipment behind, and only then logs the step as FAILED.
 */
export type SagaStep = CheckoutStep | 'VOID_SHIPMENT';
export type SagaPosition = SagaStep | 'DONE';

export const FORWARD_STEPS: readonly SagaStep[] = ['CHARGE_PAYMENT', 'RESERVE_STOCK', 'SCHEDULE_SHIPMENT'];

export interface SagaState {
  readonly step: SagaStep;
  /** Set once compensation has begun: why the order will be cancelled. */
  readonly failureReason: FailureReason | null;
}

export type StepOutcome =
  | { readonly kind: 'succeeded'; readonly paymentId?: string; readonly shipmentId?: string }
  | { readonly kind: 'failed'; readonly reason: FailureReason; readonly paymentId?: string };

export interface LogEntry {
  readonly step: CheckoutStep;
  readonly status: CheckoutStepStatus;
}

export interface Transition {
  readonly next: SagaPosition;
  readonly failureReason: FailureReason | null;
  readonly log: readonly LogEntry[];
  /** The order's final state, when the saga ends with this transition. */
  readonly outcome?: { readonly status: 'CONFIRMED' } | { readonly status: 'CANCELLED'; readonly reason: FailureReason };
  readonly paymentId?: string;
  readonly shipmentId?: string;
}

export function isForward(step: SagaStep): boolean {
  return FORWARD_STEPS.includes(step);
}

/** Where a step's answer leads. */
export function decide(state: SagaState, outcome: StepOutcome): Transition {
  const ids = { paymentId: outcome.paymentId, ...(outcome.kind === 'succeeded' ? { shipmentId: outcome.shipmentId } : {}) };
  if (outcome.kind === 'failed') return { ...fail(state.step, outcome.reason), ...ids };
  switch (state.step) {
    case 'CHARGE_PAYMENT':
      return { ...go('RESERVE_STOCK', null, done('CHARGE_PAYMENT')), ...ids };
    case 'RESERVE_STOCK':
      return go('SCHEDULE_SHIPMENT', null, done('RESERVE_STOCK'));
    case 'SCHEDULE_SHIPMENT':
      return { next: 'DONE', failureReason: null, log: [done('SCHEDULE_SHIPMENT')], outcome: { status: 'CONFIRMED' }, ...ids };
    case 'VOID_SHIPMENT':
      return go('RELEASE_STOCK', reasonOf(state), { step: 'SCHEDULE_SHIPMENT', status: 'FAILED' });
    case 'RELEASE_STOCK':
      return go('REFUND_PAYMENT', reasonOf(state), done('RELEASE_STOCK'));
    case 'REFUND_PAYMENT': {
      const reason = reasonOf(state);
      return { next: 'DONE', failureReason: reason, log: [done('REFUND_PAYMENT')], outcome: { status: 'CANCELLED', reason } };
    }
  }
}

/**
 * The saga's deadline passed during a forward step: whatever that step may
 * still do is treated as done, and undone. A compensation never times out;
 * it is retried until it succeeds.
 */
export function timeOut(state: SagaState): Transition {
  switch (state.step) {
    case 'CHARGE_PAYMENT':
      return go('REFUND_PAYMENT', 'TIMED_OUT', { step: 'CHARGE_PAYMENT', status: 'FAILED' });
    case 'RESERVE_STOCK':
      return go('RELEASE_STOCK', 'TIMED_OUT', { step: 'RESERVE_STOCK', status: 'FAILED' });
    case 'SCHEDULE_SHIPMENT':
      return { next: 'VOID_SHIPMENT', failureReason: 'TIMED_OUT', log: [] };
    default:
      throw new Error(`a compensation (${state.step}) does not time out`);
  }
}

function fail(step: SagaStep, reason: FailureReason): Transition {
  const failed: LogEntry = { step: step as CheckoutStep, status: 'FAILED' };
  switch (step) {
    case 'CHARGE_PAYMENT':
      // A declined charge took nothing: there is nothing to compensate.
      return { next: 'DONE', failureReason: reason, log: [failed], outcome: { status: 'CANCELLED', reason } };
    case 'RESERVE_STOCK':
      return go('REFUND_PAYMENT', reason, failed);
    case 'SCHEDULE_SHIPMENT':
      return go('RELEASE_STOCK', reason, failed);
    default:
      throw new Error(`a compensation (${step}) cannot fail, only be retried`);
  }
}

/** Moves to `next`, logging `entries` and the start of `next` (a hidden step logs nothing). */
function go(next: SagaStep, failureReason: FailureReason | null, ...entries: LogEntry[]): Transition {
  const started: LogEntry[] = next === 'VOID_SHIPMENT' ? [] : [{ step: next, status: 'STARTED' }];
  return { next, failureReason, log: [...entries, ...started] };
}

function done(step: CheckoutStep): LogEntry {
  return { step, status: 'SUCCEEDED' };
}

function reasonOf(state: SagaState): FailureReason {
  if (!state.failureReason) throw new Error(`${state.step} runs only during compensation, which has a reason`);
  return state.failureReason;
}
