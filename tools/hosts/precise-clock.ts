import { Worker } from 'node:worker_threads';

/**
 * Sub-millisecond wake-ups without spinning. Node's timers have a 1 ms floor (`setTimeout(fn, 0.5)`
 * fires after 1–2 ms), three times the 0.5 ms a datacenter link adds; a loop polling with
 * setImmediate would hold a core while anything is in flight. Instead a worker thread sleeps in the
 * kernel (Atomics.wait takes fractional milliseconds: a futex with a timespec) until the earliest
 * due time and posts a tick; the caller then runs what is due. Idle, it costs nothing.
 */
export class PreciseClock {
  private readonly worker: Worker;
  /** [0]: generation (bumped when the due time changes); in the Float64 view, [1]: the due time (0: none). */
  private readonly shared = new SharedArrayBuffer(16);
  private readonly generation = new Int32Array(this.shared, 0, 1);
  private readonly due = new Float64Array(this.shared, 8, 1);
  private readonly queue: Array<{ at: number; run: () => void }> = [];

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.shared });
    this.worker.unref();
    this.worker.on('message', () => this.tick());
  }

  /** Now, in milliseconds on the clock shared with the worker (absolute, sub-millisecond). */
  static now(): number {
    return performance.timeOrigin + performance.now();
  }

  /** Runs `run` at `at` (PreciseClock.now() time), in the order of the calls for equal times. */
  at(at: number, run: () => void): void {
    // Chunks are queued in due order already (a link delays each by the same amount): append, or insert.
    let index = this.queue.length;
    while (index > 0 && this.queue[index - 1].at > at) index--;
    this.queue.splice(index, 0, { at, run });
    if (index === 0) this.arm();
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }

  private tick(): void {
    const now = PreciseClock.now();
    // The worker wakes EARLY_MS early (its tick takes about that long to reach this thread): what is due by then runs now.
    while (this.queue.length > 0 && this.queue[0].at <= now + EARLY_MS) this.queue.shift()!.run();
    this.arm();
  }

  /** Tells the worker the earliest due time (or none) and wakes it to re-read it. */
  private arm(): void {
    this.due[0] = this.queue[0]?.at ?? 0;
    Atomics.add(this.generation, 0, 1);
    Atomics.notify(this.generation, 0);
  }
}

/** How much earlier than due the worker posts its tick: the measured latency of a tick to the main thread (~0.1–0.2 ms here). */
const EARLY_MS = 0.15;

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const generation = new Int32Array(workerData, 0, 1);
const due = new Float64Array(workerData, 8, 1);
const now = () => performance.timeOrigin + performance.now();
for (;;) {
  const seen = Atomics.load(generation, 0);
  const at = due[0];
  if (at === 0) { Atomics.wait(generation, 0, seen); continue; }
  const wait = at - now() - ${EARLY_MS};
  // Woken early when the due time changes; else sleeps until it (less the tick's own latency).
  if (wait > 0.02) { Atomics.wait(generation, 0, seen, wait); continue; }
  parentPort.postMessage(0);
  // One tick per due time: the caller re-arms (a new generation) once it has run what is due.
  Atomics.wait(generation, 0, seen);
}
`;
