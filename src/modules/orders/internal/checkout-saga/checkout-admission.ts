import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleError } from '../../../../platform/contracts/module.error.js';
import { Metrics } from '../../../../platform/observability/metrics.js';
import { CHECKOUT_SAGA_OPTIONS, type CheckoutSagaOptions } from './checkout-saga.options.js';
import { CheckoutSagaRepository } from './checkout-saga.repository.js';

/**
 * Backpressure at the door. Sagas queue in their table, so a burst of orders
 * costs no memory; but under sustained overload the queue only grows, and
 * orders accepted late run out of deadline and end TIMED_OUT (compensated,
 * yet lost sales). So the wait of queued sagas, measured from the table every
 * `admissionSampleMs` by whichever process hosts Orders, decides: past
 * `admissionMaxWaitMs`, a new order is refused with 503 and Retry-After
 * before anything is written. Sagas already accepted are never affected.
 * Measured in the database rather than counted in memory, it sees every
 * runner's queue and survives restarts.
 */
@Injectable()
export class CheckoutAdmission implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('orders.checkout-admission');
  private waitedMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  private readonly refused;

  constructor(
    private readonly repository: CheckoutSagaRepository,
    @Inject(CHECKOUT_SAGA_OPTIONS) private readonly options: CheckoutSagaOptions,
    metrics: Metrics,
  ) {
    this.refused = metrics.counter('checkout_orders_refused_total', 'New orders refused because queued checkouts waited too long to start', []);
    metrics.gauge('checkout_queued_wait_seconds', 'How long the longest-waiting checkout saga has waited for a runner', () => this.waitedMs / 1000);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sample(), this.options.admissionSampleMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Throws UNAVAILABLE (503, Retry-After) while queued checkouts wait past the limit. */
  admit(): void {
    if (this.waitedMs <= this.options.admissionMaxWaitMs) return;
    this.refused.inc();
    throw new ModuleError(
      'UNAVAILABLE',
      `checkout is at capacity: queued orders wait ${(this.waitedMs / 1000).toFixed(1)} s to start ` +
        `(limit ${(this.options.admissionMaxWaitMs / 1000).toFixed(1)} s); retry later`,
      'orders',
    );
  }

  private async sample(): Promise<void> {
    if (this.sampling) return; // a slow database: one sample at a time
    this.sampling = true;
    try {
      const waitedMs = await this.repository.queuedWaitMs();
      const over = waitedMs > this.options.admissionMaxWaitMs;
      if (over !== this.waitedMs > this.options.admissionMaxWaitMs) {
        this.logger.warn(over ? `refusing new orders: queued checkouts wait ${Math.round(waitedMs)} ms to start` : 'accepting new orders again');
      }
      this.waitedMs = waitedMs;
    } catch {
      // The database is away: placing an order fails on its own, with its own 503.
    } finally {
      this.sampling = false;
    }
  }
}
