/**
 * How many tests of this file have failed so far (counted by the e2e tier's environment,
 * leak-check.environment.js): an afterAll prints what helps to debug only when it is > 0, so a
 * passing run stays quiet. (`expect.getState()` in an afterAll says nothing about the tests.)
 */
export function failedTests(): number {
  return (globalThis as { __failedTests?: number }).__failedTests ?? 0;
}
