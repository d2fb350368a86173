import { defineSaga, SagaPlan } from './saga-definition.js';

/** A saga with two branches after a wait (the delivery's shape): each must end where it ends, not run into the other. */
const branches = () =>
  defineSaga<object>({
    name: 'branches',
    version: 1,
    stepTimeoutMs: 1_000,
    retry: { initialDelayMs: 10, maxDelayMs: 10 },
    stuckAfterAttempts: 3,
    load: async () => new Map(),
    steps: [
      { name: 'WAIT', waitFor: { signals: { yes: 'KEEP', no: 'UNDO' }, deadlineMs: 1_000, timeout: 'UNDO' } },
      { name: 'KEEP', run: async () => {} },
      { name: 'LATER', sleepMs: 1_000, then: 'DONE' },
      { name: 'UNDO', run: async () => {} },
    ],
  });

describe('saga plan: a sleep that ends its branch (then)', () => {
  it('completes the saga when the sleep ends, instead of running into the next branch', () => {
    const plan = new SagaPlan(branches());
    expect(plan.timedOut({ step: 'LATER', failureReason: null })).toEqual({
      next: 'DONE',
      failureReason: null,
      log: [{ step: 'LATER', status: 'SUCCEEDED' }],
      outcome: { status: 'COMPLETED' },
      output: { LATER: 'SLEPT' },
    });
    // The other branch, taken from the wait, runs to the end as before.
    expect(plan.signalled({ step: 'WAIT', failureReason: null }, 'no').next).toBe('UNDO');
    expect(plan.decide({ step: 'UNDO', failureReason: null }, {}).outcome).toEqual({ status: 'COMPLETED' });
  });

  it('refuses `then` on a step that does not sleep, and one leading to an earlier step', () => {
    expect(() => defineSaga({ ...branches(), steps: [{ name: 'A', run: async () => {}, then: 'DONE' }] })).toThrow(/only a sleep does/);
    expect(() =>
      defineSaga({
        ...branches(),
        steps: [
          { name: 'A', run: async () => {} },
          { name: 'B', sleepMs: 1, then: 'A' },
        ],
      }),
    ).toThrow(/leads to 'A', not a later step/);
  });
});
