import { WakeableLoop } from './wakeable-loop.js';

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('WakeableLoop', () => {
  const options = { pollIntervalMs: 60_000, shutdownDeadlineMs: 1_000, onError: () => {} };

  it('runs a pass when woken, and one more for any wake-ups during a pass', async () => {
    let passes = 0;
    let release!: () => void;
    const loop = new WakeableLoop(async () => {
      passes++;
      if (passes === 1) await new Promise<void>((resolve) => (release = resolve));
      return undefined;
    }, options);
    loop.start();
    await tick();
    expect(passes).toBe(1);
    for (let i = 0; i < 10; i++) loop.wake();
    release();
    await tick(10);
    expect(passes).toBe(2);
    await loop.stop();
  });

  it('gathers the wake-ups during a pass into one pass, minPassIntervalMs after it started', async () => {
    let passes = 0;
    let release!: () => void;
    const loop = new WakeableLoop(
      async () => {
        passes++;
        if (passes === 1) await new Promise<void>((resolve) => (release = resolve));
        return undefined;
      },
      { ...options, minPassIntervalMs: 60_000 },
    );
    loop.start();
    await tick();
    for (let i = 0; i < 10; i++) loop.wake();
    release();
    await tick(50);
    // Deferred, not dropped and not run ten times: one pass is due when the interval ends.
    expect(passes).toBe(1);
    await loop.stop();
    await tick(10);
    expect(passes).toBe(1);
  });

  it('starts at once when woken after a quiet spell, and defers a wake-up that comes too soon', async () => {
    let passes = 0;
    const loop = new WakeableLoop(
      async () => {
        passes++;
        return undefined;
      },
      { ...options, minPassIntervalMs: 1_000 },
    );
    loop.start();
    await tick();
    loop.wake();
    loop.wake();
    await tick();
    expect(passes).toBe(1);
    // Deferred to the end of the interval, then one pass for both wake-ups.
    for (let waited = 0; passes < 2 && waited < 5_000; waited += 50) await tick(50);
    expect(passes).toBe(2);
    await tick(1_100);
    loop.wake();
    await tick();
    expect(passes).toBe(3);
    await loop.stop();
  });

  it('keeps its distance only after a crowded pass: after one that found a single item, a wake-up starts at once', async () => {
    let passes = 0;
    let crowded = false;
    const loop = new WakeableLoop(
      async () => {
        passes++;
        return { dueInMs: undefined, crowded };
      },
      { ...options, minPassIntervalMs: 60_000 },
    );
    loop.start();
    await tick();
    expect(passes).toBe(1);
    // Light load: every wake-up is a pass of its own, at once.
    for (let n = 2; n <= 4; n++) {
      loop.wake();
      await tick();
      expect(passes).toBe(n);
    }
    // A pass that found work crowding in: the next waits out the interval.
    crowded = true;
    loop.wake();
    await tick();
    expect(passes).toBe(5);
    loop.wake();
    await tick(50);
    expect(passes).toBe(5);
    await loop.stop();
  });
});
