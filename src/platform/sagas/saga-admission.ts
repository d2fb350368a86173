import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleError } from '../contracts/module.error.js';
import type { Metrics } from '../observability/metrics.js';
import type { SagaStore } from './saga-store.js';

export interface SagaAdmissionOptions {
  /** New sagas are refused while queued ones wait longer than this to start. */
  readonly maxWaitMs: number;
  /** How often the wait of queued sagas is measured. */
  readonly sampleMs: number;
  /** Metric names and wording of the refusal (ADR 11 keeps checkout's). */
  readonly refusedMetric: string;
  readonly waitMetric: string;
  /** What is refused, for the problem's detail: "checkout", say. */
  readonly what: string;
}

/**
 * Backpressure at the door of a saga (ADR 11). Sagas queue in their table, so
 * a burst costs no memory; but under sustained overload the queue only grows
 * and sagas accepted late run out of deadline. So the wait of queued sagas,
 * measured in the database every `sampleMs` by whichever process hosts the
 * owner, decides: past `maxWaitMs`, `admit` refuses with UNAVAILABLE (503,
 * Retry-After) before anything is written. Sagas already accepted are never
 * affected. Measured in the database, it sees every runner's queue.
 */
export class SagaAdmission implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger: Logger;
  private waitedMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  private readonly refused;

  constructor(
    private readonly store: SagaStore<unknown>,
    private readonly options: SagaAdmissionOptions,
    metrics: Metrics,
  ) {
    this.logger = new Logger(`${store.module}.${options.what}-admission`);
    this.refused = metrics.counter(options.refusedMetric, `New ${options.what} sagas refused because queued ones waited too long to start`, []);
    metrics.gauge(options.waitMetric, `How long the longest-waiting ${options.what} saga has waited for a runner`, () => this.waitedMs / 1000);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sample(), this.options.sampleMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Throws UNAVAILABLE (503, Retry-After) while queued sagas wait past the limit. */
  admit(): void {
    if (this.waitedMs <= this.options.maxWaitMs) return;
    this.refused.inc();
    throw new ModuleError(
      'UNAVAILABLE',
      `${this.options.what} is at capacity: queued orders wait ${(this.waitedMs / 1000).toFixed(1)} s to start ` +
        `(limit ${(this.options.maxWaitMs / 1000).toFixed(1)} s); retry later`,
      this.store.module,
    );
  }

  private async sample(): Promise<void> {
    if (this.sampling) return; // a slow database: one sample at a time
    this.sampling = true;
    try {
      const waitedMs = await this.store.queuedWaitMs();
      const over = waitedMs > this.options.maxWaitMs;
      if (over !== this.waitedMs > this.options.maxWaitMs) {
        this.logger.warn(over ? `refusing new ${this.options.what}s: queued sagas wait ${Math.round(waitedMs)} ms to start` : `accepting new ${this.options.what}s again`);
      }
      this.waitedMs = waitedMs;
    } catch {
      // The database is away: starting a saga fails on its own, with its own 503.
    } finally {
      this.sampling = false;
    }
  }
}
