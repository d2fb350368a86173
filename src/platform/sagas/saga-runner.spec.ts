import { ModuleError } from '../contracts/module.error.js';
import { abortable, isPermanent, StepTimeoutError } from './saga-runner.js';

describe('saga runner: what it retries and how it gives up', () => {
  it.each([
    ['INVALID', true],
    ['CONFLICT', true],
    ['UNPROCESSABLE', true],
    ['NOT_FOUND', true],
    ['UNAVAILABLE', false],
    ['INTERNAL', false],
  ] as const)('a %s answer is permanent: %s', (code, permanent) => {
    expect(isPermanent(new ModuleError(code, 'x', 'inventory'))).toBe(permanent);
  });

  it('retries whatever is not a module answer (a timeout, a crash)', () => {
    expect(isPermanent(new StepTimeoutError('step timed out'))).toBe(false);
    expect(isPermanent(new Error('connection reset'))).toBe(false);
  });

  it("abortable answers the step's result, or rejects as soon as the signal aborts", async () => {
    expect(await abortable(Promise.resolve(7), new AbortController().signal)).toBe(7);
    const controller = new AbortController();
    const pending = abortable(new Promise<number>(() => {}), controller.signal);
    controller.abort(new StepTimeoutError('deadline'));
    await expect(pending).rejects.toBeInstanceOf(StepTimeoutError);
  });
});
