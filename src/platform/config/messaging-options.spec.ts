import { backoffMs, DEFAULT_MESSAGING_OPTIONS } from './messaging-options.js';

describe("the relay's and the inbox's back-off", () => {
  const options = { ...DEFAULT_MESSAGING_OPTIONS, baseBackoffMs: 100, maxBackoffMs: 1_000 };

  it('doubles the ceiling with each attempt up to the maximum, and waits between half of it and all of it', () => {
    const ceilings = [1, 2, 3, 4, 5, 10].map((attempts) => [backoffMs(options, attempts, () => 0), backoffMs(options, attempts, () => 1)]);
    expect(ceilings).toEqual([
      [50, 100],
      [100, 200],
      [200, 400],
      [400, 800],
      [500, 1_000],
      [500, 1_000],
    ]);
  });

  it('treats a first attempt (or none) as the base', () => {
    expect(backoffMs(options, 0, () => 1)).toBe(100);
    expect(backoffMs(options, 1, () => 0.5)).toBe(75);
  });
});
