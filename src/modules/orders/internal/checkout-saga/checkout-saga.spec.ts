import { SagaPlan, type SagaState, type Transition } from '../../../../platform/index.js';
import { cancellationSaga } from './cancellation-saga.js';
import { checkoutSagaOptions } from './checkout-saga.options.js';
import { checkoutSaga } from './checkout-saga.js';

const options = checkoutSagaOptions({ integer: (_name: string, fallback: number) => fallback } as never);
const plan = new SagaPlan(checkoutSaga({} as never, options));
const decide = (
  state: SagaState,
  outcome: { kind: 'succeeded'; paymentId?: string; shipmentId?: string } | { kind: 'failed'; reason: string; paymentId?: string },
): Transition => {
  const { kind, ...output } = outcome as { kind: string; reason?: string };
  delete output.reason;
  return plan.decide(state, outcome.kind === 'failed' ? { failed: outcome.reason, output } : { output });
};
const timeOut = (state: SagaState): Transition => plan.giveUp(state);

const at = (step: SagaState['step'], failureReason: SagaState['failureReason'] = null): SagaState => ({ step, failureReason });

/** Runs the machine from CHARGE_PAYMENT, answering each step from `answers`, and returns the whole log. */
function run(answers: Partial<Record<string, 'ok' | 'fail' | 'timeout'>>): { log: string[]; end: { status: string; reason?: string } } {
  let state: SagaState = at('CHARGE_PAYMENT');
  const log = ['CHARGE_PAYMENT STARTED'];
  for (let guard = 0; guard < 10; guard++) {
    const answer = answers[state.step] ?? 'ok';
    const reasons = { CHARGE_PAYMENT: 'PAYMENT_DECLINED', RESERVE_STOCK: 'OUT_OF_STOCK', SCHEDULE_SHIPMENT: 'SHIPPING_UNAVAILABLE' } as const;
    const transition =
      answer === 'timeout'
        ? timeOut(state)
        : decide(state, answer === 'ok' ? { kind: 'succeeded' } : { kind: 'failed', reason: reasons[state.step as keyof typeof reasons] });
    log.push(...transition.log.map((entry) => `${entry.step} ${entry.status}`));
    if (transition.next === 'DONE') {
      const end = transition.outcome!;
      return { log, end: end.status === 'COMPLETED' ? { status: 'CONFIRMED' } : { status: 'CANCELLED', reason: end.reason } };
    }
    state = { step: transition.next, failureReason: transition.failureReason };
  }
  throw new Error('the saga did not end');
}

describe('checkout saga state machine', () => {
  it('charges, reserves, schedules, and confirms', () => {
    expect(run({})).toEqual({
      log: [
        'CHARGE_PAYMENT STARTED',
        'CHARGE_PAYMENT SUCCEEDED',
        'RESERVE_STOCK STARTED',
        'RESERVE_STOCK SUCCEEDED',
        'SCHEDULE_SHIPMENT STARTED',
        'SCHEDULE_SHIPMENT SUCCEEDED',
      ],
      end: { status: 'CONFIRMED' },
    });
  });

  it('cancels a declined charge with nothing else to do', () => {
    expect(run({ CHARGE_PAYMENT: 'fail' })).toEqual({
      log: ['CHARGE_PAYMENT STARTED', 'CHARGE_PAYMENT FAILED'],
      end: { status: 'CANCELLED', reason: 'PAYMENT_DECLINED' },
    });
  });

  it('refunds when stock cannot be reserved', () => {
    expect(run({ RESERVE_STOCK: 'fail' })).toEqual({
      log: [
        'CHARGE_PAYMENT STARTED',
        'CHARGE_PAYMENT SUCCEEDED',
        'RESERVE_STOCK STARTED',
        'RESERVE_STOCK FAILED',
        'REFUND_PAYMENT STARTED',
        'REFUND_PAYMENT SUCCEEDED',
      ],
      end: { status: 'CANCELLED', reason: 'OUT_OF_STOCK' },
    });
  });

  it('releases then refunds when shipping is unavailable', () => {
    expect(run({ SCHEDULE_SHIPMENT: 'fail' })).toEqual({
      log: [
        'CHARGE_PAYMENT STARTED',
        'CHARGE_PAYMENT SUCCEEDED',
        'RESERVE_STOCK STARTED',
        'RESERVE_STOCK SUCCEEDED',
        'SCHEDULE_SHIPMENT STARTED',
        'SCHEDULE_SHIPMENT FAILED',
        'RELEASE_STOCK STARTED',
        'RELEASE_STOCK SUCCEEDED',
        'REFUND_PAYMENT STARTED',
        'REFUND_PAYMENT SUCCEEDED',
      ],
      end: { status: 'CANCELLED', reason: 'SHIPPING_UNAVAILABLE' },
    });
  });

  it.each([
    ['CHARGE_PAYMENT', ['CHARGE_PAYMENT FAILED', 'REFUND_PAYMENT STARTED', 'REFUND_PAYMENT SUCCEEDED']],
    ['RESERVE_STOCK', ['RESERVE_STOCK FAILED', 'RELEASE_STOCK STARTED', 'RELEASE_STOCK SUCCEEDED', 'REFUND_PAYMENT STARTED', 'REFUND_PAYMENT SUCCEEDED']],
    [
      'SCHEDULE_SHIPMENT',
      ['SCHEDULE_SHIPMENT FAILED', 'RELEASE_STOCK STARTED', 'RELEASE_STOCK SUCCEEDED', 'REFUND_PAYMENT STARTED', 'REFUND_PAYMENT SUCCEEDED'],
    ],
  ] as const)('times out in %s by undoing whatever that step may still do', (step, tail) => {
    const { log, end } = run({ [step]: 'timeout' });
    expect(log.slice(log.indexOf(`${step} STARTED`) + 1)).toEqual(tail);
    expect(end).toEqual({ status: 'CANCELLED', reason: 'TIMED_OUT' });
  });

  it('a runner that can leave the charge and the reservation unwritten may get as far as the schedule', () => {
    expect(plan.reachFrom('CHARGE_PAYMENT')).toBe('SCHEDULE_SHIPMENT');
    expect(plan.reachFrom('RESERVE_STOCK')).toBe('SCHEDULE_SHIPMENT');
    expect(plan.reachFrom('SCHEDULE_SHIPMENT')).toBe('SCHEDULE_SHIPMENT');
  });

  it('gives up at the charge after a runner was lost in the schedule: voids, releases and refunds (ADR 19)', () => {
    const log: string[] = [];
    let transition = plan.giveUp({ step: 'CHARGE_PAYMENT', failureReason: null, reach: 'SCHEDULE_SHIPMENT' });
    const undos: string[] = [];
    for (;;) {
      log.push(...transition.log.map((entry) => `${entry.step} ${entry.status}`));
      if (transition.next === 'DONE') break;
      undos.push(transition.next);
      transition = plan.decide({ step: transition.next, failureReason: transition.failureReason }, {});
    }
    expect(undos).toEqual(['VOID_SHIPMENT', 'RELEASE_STOCK', 'REFUND_PAYMENT']);
    expect(log).toEqual([
      'CHARGE_PAYMENT FAILED',
      'RESERVE_STOCK FAILED',
      'SCHEDULE_SHIPMENT FAILED',
      'RELEASE_STOCK STARTED',
      'RELEASE_STOCK SUCCEEDED',
      'REFUND_PAYMENT STARTED',
      'REFUND_PAYMENT SUCCEEDED',
    ]);
    expect(transition.outcome).toEqual({ status: 'COMPENSATED', reason: 'TIMED_OUT' });
  });

  it('a refusal of an idempotent step after a lost runner undoes only what came before it: the lost runner was refused there too', () => {
    const refused = plan.decide({ step: 'RESERVE_STOCK', failureReason: null, reach: 'SCHEDULE_SHIPMENT' }, { failed: 'OUT_OF_STOCK' });
    expect(refused).toMatchObject({ next: 'REFUND_PAYMENT', failureReason: 'OUT_OF_STOCK' });
    expect(refused).toEqual(plan.decide(at('RESERVE_STOCK'), { failed: 'OUT_OF_STOCK' }));
    // Without a lost runner, exactly as before: refund the charge.
    expect(plan.decide(at('RESERVE_STOCK'), { failed: 'OUT_OF_STOCK' })).toMatchObject({ next: 'REFUND_PAYMENT' });
  });

  it('carries the ids the steps answered', () => {
    expect(decide(at('CHARGE_PAYMENT'), { kind: 'succeeded', paymentId: 'p' }).output.paymentId).toBe('p');
    expect(decide(at('CHARGE_PAYMENT'), { kind: 'failed', reason: 'PAYMENT_DECLINED', paymentId: 'p' }).output.paymentId).toBe('p');
    expect(decide(at('SCHEDULE_SHIPMENT'), { kind: 'succeeded', shipmentId: 's' }).output.shipmentId).toBe('s');
  });

  it('never lets a compensation give up', () => {
    expect(() => timeOut(at('RELEASE_STOCK', 'TIMED_OUT'))).toThrow();
    expect(plan.canGiveUp('REFUND_PAYMENT')).toBe(false);
    expect(plan.canGiveUp('CHARGE_PAYMENT')).toBe(true);
  });
});

describe('cancellation saga state machine', () => {
  const cancellation = new SagaPlan(cancellationSaga({} as never, options));

  it('cancels the shipment, releases the stock, refunds the charge, and ends completed', () => {
    let state: SagaState = { step: cancellation.first, failureReason: null };
    const log = [`${state.step} STARTED`];
    for (;;) {
      const transition = cancellation.decide(state, {});
      log.push(...transition.log.map((entry) => `${entry.step} ${entry.status}`));
      if (transition.next === 'DONE') {
        expect(transition.outcome).toEqual({ status: 'COMPLETED' });
        break;
      }
      state = { step: transition.next, failureReason: transition.failureReason };
    }
    expect(log).toEqual([
      'CANCEL_SHIPMENT STARTED',
      'CANCEL_SHIPMENT SUCCEEDED',
      'RELEASE_STOCK STARTED',
      'RELEASE_STOCK SUCCEEDED',
      'REFUND_PAYMENT STARTED',
      'REFUND_PAYMENT SUCCEEDED',
    ]);
  });

  it('never gives up a step: it has no deadline and nothing to compensate with', () => {
    expect(cancellation.canGiveUp('CANCEL_SHIPMENT')).toBe(false);
    expect(() => cancellation.giveUp({ step: 'RELEASE_STOCK', failureReason: null })).toThrow();
  });
});
