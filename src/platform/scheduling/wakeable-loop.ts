export interface WakeableLoopOptions {
  /** The longest the loop sleeps: it recovers whatever no wake-up announced. */
  readonly pollIntervalMs: number;
  /** How long `stop` waits for a pass in progress. */
  readonly shutdownDeadlineMs: number;
  /** Called when a pass throws; the loop tries again after the poll interval. */
  readonly onError: (error: unknown) => void;
  /**
   * After a pass that found work crowding in (see `PassResult`), the next
   * starts at least this long after it did: wake-ups in between are gathered
   * into it, which then takes more at once (under load, one claim and one
   * inbox transaction for many commits). After a pass that found a single
   * item, or a quiet spell, a wake-up starts a pass at once: spacing only
   * pays where there is something to gather. Default 0.
   */
  readonly minPassIntervalMs?: number;
}

/**
 * What a pass answers: how soon more work falls due (ms), if it knows; and,
 * optionally, whether work was crowding in (more than one item waited), which
 * makes the next pass keep `minPassIntervalMs`'s distance. A bare number or
 * undefined counts as crowded.
 */
export type PassResult = number | undefined | { readonly dueInMs: number | undefined; readonly crowded: boolean };

/**
 * What runs a worker's passes: the WakeableLoop, or a caller that runs them
 * itself, one at a time, in an order of its choosing (a deterministic test).
 */
export interface PassLoop {
  readonly stopping: boolean;
  start(): void;
  wake(): void;
  stop(): Promise<void>;
}

/**
 * A background worker that runs `pass` when woken, never twice at once: a
 * wake-up during a pass runs one more pass right after it. Between wake-ups
 * it sleeps until the time `pass` says the next work falls due, or at most
 * the poll interval. Used by the outbox relay and by durable sagas, whose
 * work lives in tables and is announced by commits.
 */
export class WakeableLoop implements PassLoop {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private lastPassAt = Number.NEGATIVE_INFINITY;
  private endWait: (() => void) | undefined;
  private deferred = false;
  private crowded = true;

  /** `pass` does the work due now and answers how soon more falls due (ms), if it knows. */
  constructor(
    private readonly pass: () => Promise<PassResult>,
    private readonly options: WakeableLoopOptions,
  ) {}

  get stopping(): boolean {
    return this.stopped;
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const wait = this.untilNextPassMs();
    if (wait > 0) {
      // Passes keep their distance: this wake-up and any that follow go in one pass.
      if (this.deferred) return;
      clearTimeout(this.timer);
      this.deferred = true;
      this.timer = setTimeout(() => {
        this.deferred = false;
        this.wake();
      }, wait);
      this.timer.unref();
      return;
    }
    this.deferred = false;
    clearTimeout(this.timer);
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
  }

  /** No new pass starts; a pass in progress gets until the deadline to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.endWait?.();
    if (!this.running) return;
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      this.running,
      new Promise<void>((resolve) => {
        deadline = setTimeout(resolve, this.options.shutdownDeadlineMs);
      }),
    ]);
    clearTimeout(deadline);
  }

  private async run(): Promise<void> {
    let dueInMs: number | undefined;
    try {
      do {
        // Woken during the last pass (load): gather what else comes before the next.
        const wait = this.untilNextPassMs();
        this.again = false;
        if (wait > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            // A stop does not wait out the interval.
            this.endWait = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.endWait = undefined;
        }
        if (this.stopped) break;
        this.lastPassAt = performance.now();
        const result = await this.pass();
        this.crowded = typeof result !== 'object' || result.crowded;
        dueInMs = typeof result === 'object' ? result.dueInMs : result;
      } while (this.again && !this.stopped);
    } catch (error) {
      this.options.onError(error);
      dueInMs = undefined;
    }
    this.sleep(dueInMs);
  }

  private untilNextPassMs(): number {
    if (!this.crowded) return 0;
    return this.lastPassAt + (this.options.minPassIntervalMs ?? 0) - performance.now();
  }

  private sleep(dueInMs: number | undefined): void {
    if (this.stopped) return;
    const delay = Math.max(0, Math.min(dueInMs ?? this.options.pollIntervalMs, this.options.pollIntervalMs));
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }
}
