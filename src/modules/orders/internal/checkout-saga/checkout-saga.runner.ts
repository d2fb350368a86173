import { Inject, Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { Metrics } from '../../../../platform/observability/metrics.js';
import { contextFrom, inSpan } from '../../../../platform/observability/tracing.js';
import { WakeableLoop } from '../../../../platform/scheduling/wakeable-loop.js';
import { withTimeout } from '../../../../platform/scheduling/with-timeout.js';
import { decide, isForward, timeOut, type Transition } from './checkout-saga.js';
import { CHECKOUT_SAGA_OPTIONS, type CheckoutSagaOptions } from './checkout-saga.options.js';
import { CheckoutSagaRepository } from './checkout-saga.repository.js';
import { CheckoutSteps } from './checkout-steps.js';
import type { ClaimedSaga } from './saga-order.js';

/**
 * Drives checkout sagas from their stored state: claims the due ones, runs
 * their current step, records the result, and goes on until a saga ends or
 * must wait for a retry. Because all its state is in the orders schema, a
 * saga interrupted by a crash is simply claimed again after its lease and
 * resumes at the step it was at; the steps are idempotent by order id.
 */
@Injectable()
export class CheckoutSagaRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('orders.checkout-saga');
  private readonly loop: WakeableLoop;
  private readonly outcomes;
  private readonly handedOver = new Set<Promise<void>>();

  constructor(
    private readonly repository: CheckoutSagaRepository,
    private readonly steps: CheckoutSteps,
    @Inject(CHECKOUT_SAGA_OPTIONS) private readonly options: CheckoutSagaOptions,
    metrics: Metrics,
  ) {
    this.outcomes = metrics.counter('checkout_saga_outcomes_total', 'Checkout sagas ended, by order status and failure reason', [
      'status',
      'reason',
    ]);
    this.loop = new WakeableLoop(() => this.pass(), {
      pollIntervalMs: options.pollIntervalMs,
      shutdownDeadlineMs: options.stepTimeoutMs + 1_000,
      onError: (error) => this.logger.warn(`saga pass failed, retrying on the next poll: ${(error as Error).message}`),
    });
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.loop.stop();
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.handedOver),
      new Promise<void>((resolve) => {
        deadline = setTimeout(resolve, this.options.stepTimeoutMs + 1_000);
      }),
    ]);
    clearTimeout(deadline);
  }

  /**
   * Whether a saga just started here may be run at once by this process
   * (see `runNow`), or should wait to be claimed: a bound on how many run at
   * once, so a burst of checkouts queues in the table rather than in memory.
   */
  canTakeOver(): boolean {
    return !this.loop.stopping && this.handedOver.size < this.options.batchSize;
  }

  /**
   * Runs a saga that the caller has just created already leased to this
   * process, with its order in hand: no claim, no reload, no wait for a wake-up.
   * A crash meanwhile only delays it: the lease runs out and any runner resumes it.
   */
  runNow(saga: ClaimedSaga): void {
    const running: Promise<void> = this.advance(saga)
      .catch((error: unknown) => this.abandon(saga, error))
      .finally(() => this.handedOver.delete(running));
    this.handedOver.add(running);
  }

  /** A saga was started (or can go on): run it now rather than at the next poll. */
  wake(): void {
    this.loop.wake();
  }

  private async pass(): Promise<number | undefined> {
    while (!this.loop.stopping) {
      const due = await this.repository.claim(this.options.batchSize, this.options.leaseMs);
      if (due.length === 0) break;
      // One saga's trouble (a pool timeout while recording, say) must not hold the others' leases.
      await Promise.all(due.map((saga) => this.advance(saga).catch((error: unknown) => this.abandon(saga, error))));
    }
    return this.loop.stopping ? undefined : this.repository.nextDueInMs();
  }

  private async advance(claimed: ClaimedSaga): Promise<void> {
    // Each step is a span of the trace that placed the order, however late it runs.
    const placedIn = contextFrom(claimed.traceContext);
    let saga: ClaimedSaga | undefined = claimed;
    while (saga && !this.loop.stopping) {
      const current: ClaimedSaga = saga;
      saga = await inSpan(
        `orders.checkout.${current.step}`,
        {
          parent: placedIn,
          attributes: { module: 'orders', 'order.id': current.orderId, 'saga.step': current.step, 'saga.attempt': current.attempts + 1 },
        },
        () => this.step(current),
      );
    }
  }

  /** Runs one step and records where it leads; answers the saga to go on with, if any. */
  private async step(saga: ClaimedSaga): Promise<ClaimedSaga | undefined> {
    let transition: Transition;
    if (isForward(saga.step) && Date.now() >= saga.deadlineAt.getTime()) {
      transition = timeOut(saga);
    } else {
      try {
        const outcome = await withTimeout(this.steps.run(saga.step, saga.order), this.options.stepTimeoutMs, saga.step);
        transition = decide(saga, outcome);
      } catch (error) {
        await this.retryLater(saga, error);
        return undefined;
      }
    }
    const { applied, next } = await this.repository.advance(saga, transition, this.options.leaseMs);
    if (applied && transition.outcome) {
      const reason = transition.outcome.status === 'CANCELLED' ? transition.outcome.reason : 'none';
      this.outcomes.inc({ status: transition.outcome.status, reason });
      this.logger.log({ msg: `order ${transition.outcome.status}`, orderId: saga.orderId, ...(reason === 'none' ? {} : { reason }) });
    }
    return next;
  }

  /** Gives a saga back for another try soon, rather than when its lease runs out. */
  private async abandon(saga: ClaimedSaga, error: unknown): Promise<void> {
    this.logger.warn({ msg: `advancing the saga failed, giving it back: ${(error as Error)?.message ?? error}`, orderId: saga.orderId });
    await this.repository.release(saga.orderId, this.options.retryDelayMs).catch(() => {});
  }

  private async retryLater(saga: ClaimedSaga, error: unknown): Promise<void> {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const backoff = Math.min(this.options.maxRetryDelayMs, this.options.retryDelayMs * 2 ** saga.attempts);
    // A forward step is not retried past the saga's deadline: it times out then.
    const untilDeadline = saga.deadlineAt.getTime() - Date.now();
    const delay = isForward(saga.step) ? Math.max(0, Math.min(backoff, untilDeadline)) : backoff;
    this.logger.warn({
      msg: `${saga.step} attempt ${saga.attempts + 1} failed, retry in ${delay} ms: ${message}`,
      orderId: saga.orderId,
    });
    await this.repository.retryLater(saga, delay, message);
  }
}
