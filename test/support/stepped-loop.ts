import type { PassLoop, PassResult } from '../../src/platform/scheduling/wakeable-loop.js';

/**
 * A worker's loop that runs a pass only when the test says (`step`): no timer,
 * no wake-up runs one, so a schedule drawn from a seed replays pass for pass.
 * Wake-ups are counted, not acted on.
 */
export class SteppedLoop implements PassLoop {
  wakes = 0;
  private stopped = true;

  constructor(private readonly pass: () => Promise<PassResult>) {}

  get stopping(): boolean {
    return this.stopped;
  }

  start(): void {
    this.stopped = false;
  }

  wake(): void {
    this.wakes += 1;
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  /** One pass now; what it answers is what the real loop would sleep on. */
  step(): Promise<PassResult> {
    if (this.stopped) throw new Error('a stopped loop runs no pass');
    return this.pass();
  }
}
