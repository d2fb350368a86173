import { InFlightLimit } from './in-flight-limit.js';

describe('InFlightLimit', () => {
  const options = { targetMs: 1_000, minInFlight: 8, windowMs: 2_000, bucketMs: 100 };

  it('stays at the minimum until anything has ended', () => {
    const limit = new InFlightLimit(options);
    expect(limit.limit(0)).toBe(8);
    expect(limit.limit(5_000)).toBe(8);
    expect(limit.ratePerSecond(5_000)).toBe(0);
  });

  it('is the completion rate over the window times the target', () => {
    const limit = new InFlightLimit(options);
    limit.ratePerSecond(0); // observing from t = 0
    // 300 ended per second for 2 s, in 10 ms steps.
    for (let t = 0; t < 2_000; t += 10) limit.ended(t, 0, 3);
    expect(limit.ratePerSecond(2_000)).toBeCloseTo(300, 0);
    expect(limit.limit(2_000)).toBe(300);
    expect(new InFlightLimit({ ...options, targetMs: 500 }).limit(0)).toBe(8);
  });

  it('adds the time sagas take once running: a slow machine lowers the rate, not the concurrency', () => {
    const limit = new InFlightLimit(options);
    limit.ratePerSecond(0);
    // 100 ended per second, each having run 500 ms: 50 running at any time, plus a second's worth waiting.
    for (let t = 0; t < 2_000; t += 10) limit.ended(t, 500);
    expect(limit.meanRunningMs(2_000)).toBe(500);
    expect(limit.limit(2_000)).toBe(150);
  });

  it('follows the rate down when the runners slow, and back to the minimum when nothing ends', () => {
    const limit = new InFlightLimit(options);
    limit.ratePerSecond(0);
    for (let t = 0; t < 2_000; t += 10) limit.ended(t, 0, 3);
    for (let t = 2_000; t < 4_000; t += 10) limit.ended(t, 0, 1);
    expect(limit.limit(4_000)).toBe(100);
    expect(limit.limit(6_500)).toBe(8);
  });

  it('measures over the time observed while that is shorter than the window', () => {
    const limit = new InFlightLimit(options);
    limit.ratePerSecond(0);
    for (let t = 0; t < 500; t += 10) limit.ended(t, 0, 2);
    expect(limit.ratePerSecond(500)).toBeCloseTo(200, 0);
  });

  it('tells a refused caller when to come back: the excess at the current rate, within bounds', () => {
    const limit = new InFlightLimit(options);
    limit.ratePerSecond(0);
    expect(limit.retryAfterMs(0, 100, 10, 1_000)).toBe(1_000); // no rate yet
    for (let t = 0; t < 2_000; t += 10) limit.ended(t); // 100/s: limit 100
    expect(limit.retryAfterMs(2_000, 100, 10, 1_000)).toBe(10); // one over: 10 ms
    expect(limit.retryAfterMs(2_000, 150, 10, 1_000)).toBe(510);
    expect(limit.retryAfterMs(2_000, 10_000, 10, 1_000)).toBe(1_000);
  });

  it('refuses nonsense options', () => {
    expect(() => new InFlightLimit({ ...options, targetMs: 0 })).toThrow(/invalid/);
    expect(() => new InFlightLimit({ ...options, minInFlight: 0 })).toThrow(/invalid/);
    expect(() => new InFlightLimit({ ...options, windowMs: 50 })).toThrow(/invalid/);
  });
});
