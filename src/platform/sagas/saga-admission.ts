import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleError } from '../contracts/module.error.js';
import type { Metrics } from '../observability/metrics.js';
import { InFlightLimit } from './in-flight-limit.js';
import type { SagaRunner } from './saga-runner.js';

export interface SagaAdmissionOptions {
  /**
   * How long an accepted saga may wait for its turn: sagas in flight are bounded
   * by the completion rate times this (ADR 16). Well under the saga's deadline.
   */
  readonly targetMs: number;
  /** The bound never goes below this: enough to keep the runners busy while the rate is measured. */
  readonly minInFlight: number;
  /** A second guard (ADR 11): refused too while queued sagas wait longer than this to start. */
  readonly maxWaitMs: number;
  /** How often the sagas in flight and the wait of queued ones are read from the database. */
  readonly sampleMs: number;
  /** Metric names of ADR 11, kept for dashboards: the refusals and the queue's wait. */
  readonly refusedMetric: string;
  readonly waitMetric: string;
  /** What is refused, for the problem's detail: "checkout", say. */
  readonly what: string;
}

/** An admitted start: `settle` once the saga is written (or its start failed), in a `finally`. */
export interface Admitted {
  settle(): void;
}

/**
 * A refused caller is told to come back within these bounds (ms): the HTTP edge refuses before any
 * work meanwhile. Not less than 100 ms: each window ends with one probe along the whole path, and
 * shorter windows made probes as many as acceptances (ADR 16); the bound keeps a second of work queued.
 */
const RETRY_AFTER_MIN_MS = 100;
const RETRY_AFTER_MAX_MS = 1_000;
/** Refusals are summed up in one warning at most this often (a flood must not flood the log too). */
const LOG_EVERY_MS = 5_000;

/**
 * The door of a saga type (ADR 16, after ADR 11): a new saga is admitted only
 * while the sagas in flight, accepted and not ended, are fewer than the runners
 * can finish within `targetMs` at the rate they are finishing them now, so that
 * whatever is accepted finishes well within its deadline; beyond that, `admit`
 * refuses with UNAVAILABLE and a `retryAfterMs` hint, before anything is read or
 * written, in microseconds. The count is the database's (every runner's sagas,
 * read every `sampleMs`) plus what this process admitted since; the rate is what
 * this process's runner ends (with replicas, each sees its share: the bound is
 * then conservative, never loose). Sagas already accepted are never affected.
 */
export class SagaAdmission implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger: Logger;
  private readonly limit: InFlightLimit;
  /** Sagas in flight at the last sample, and how many of this process's admissions had settled when it started. */
  private sampledInFlight = 0;
  private settledAtSample = 0;
  /** Admitted here, start not yet settled (they may not be in the database yet). */
  private pending = 0;
  private settled = 0;
  /** Sagas this process's runner ended, and how many it had ended when the last sample's answer came. */
  private ended = 0;
  private endedAtSample = 0;
  private waitedMs = 0;
  /**
   * Since when the samples succeed (undefined while they fail): sagas cannot have waited for a
   * runner longer than the runners could reach the database to take them. Until a sample fails,
   * since ever: a process started beside others (replicas) sees their queue as it is.
   */
  private reachableSince: number | undefined = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  private refusedSinceLog = 0;
  private loggedAt = 0;
  private readonly refusedTotal;
  private readonly refusedByReason;

  constructor(
    private readonly runner: SagaRunner<unknown>,
    private readonly options: SagaAdmissionOptions,
    metrics: Metrics,
  ) {
    const saga = runner.definition.name;
    this.logger = new Logger(`${runner.store.module}.${options.what}-admission`);
    this.limit = new InFlightLimit({ targetMs: options.targetMs, minInFlight: options.minInFlight, windowMs: 2_000, bucketMs: 100 });
    runner.onEnded((_key, _outcome, runningMs) => {
      this.ended++;
      this.limit.ended(performance.now(), runningMs);
    });
    this.refusedTotal = metrics.counter(
      options.refusedMetric,
      `New ${options.what} sagas refused at the door (in flight at the limit, or queued ones waited too long)`,
      [],
    );
    this.refusedByReason = metrics.counter(
      'saga_admission_refused_total',
      'New sagas refused at the door, by saga and reason (in_flight: at the bound; queue_wait: queued ones waited too long)',
      ['saga', 'reason'],
    );
    const name = saga.replace(/[^a-zA-Z0-9_]/g, '_');
    metrics.gauge(options.waitMetric, `How long the longest-waiting ${options.what} saga has waited for a runner`, () => this.waitedMs / 1000);
    metrics.gauge(`saga_in_flight_${name}`, `${saga} sagas accepted and not ended (the database's count, plus this process's admissions since)`, () =>
      this.inFlight(),
    );
    metrics.gauge(
      `saga_in_flight_limit_${name}`,
      `The most ${saga} sagas admitted in flight now: completions/s x (running time + target), at least the minimum`,
      () => this.limit.limit(performance.now()),
    );
    metrics.gauge(
      `saga_running_seconds_${name}`,
      `Mean time a ${saga} saga ran once a runner took it, over the same window`,
      () => this.limit.meanRunningMs(performance.now()) / 1000,
    );
    metrics.gauge(`saga_completions_per_second_${name}`, `${saga} sagas this process's runner ended per second (2 s window)`, () =>
      this.limit.ratePerSecond(performance.now()),
    );
  }

  onApplicationBootstrap(): void {
    this.sampleNow();
    this.timer = setInterval(() => this.sampleNow(), this.options.sampleMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * Sagas in flight as far as this process knows: never fewer than there are. An
   * end heard after the sample's answer came was counted by it, or admitted since
   * (counted on top): it comes off at once, so a freed place is seen at once.
   */
  inFlight(): number {
    return this.sampledInFlight + (this.settled - this.settledAtSample) + this.pending - (this.ended - this.endedAtSample);
  }

  /** Admits one new saga, or throws UNAVAILABLE (503, Retry-After) with a `retryAfterMs` hint. */
  admit(): Admitted {
    const now = performance.now();
    if (this.waitedMs > this.options.maxWaitMs) {
      this.refuse(
        'queue_wait',
        Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, this.waitedMs - this.options.maxWaitMs)),
        `queued orders wait ${(this.waitedMs / 1000).toFixed(1)} s to start (limit ${(this.options.maxWaitMs / 1000).toFixed(1)} s)`,
      );
    }
    const inFlight = this.inFlight();
    const limit = this.limit.limit(now);
    if (inFlight >= limit) {
      const rate = this.limit.ratePerSecond(now);
      this.refuse(
        'in_flight',
        this.limit.retryAfterMs(now, inFlight, RETRY_AFTER_MIN_MS, RETRY_AFTER_MAX_MS),
        `${inFlight} orders in flight, as many as it finishes with ${(this.options.targetMs / 1000).toFixed(1)} s of waiting at its current rate (${rate.toFixed(0)}/s)`,
      );
    }
    this.pending++;
    let done = false;
    return {
      settle: () => {
        if (done) return;
        done = true;
        this.pending--;
        this.settled++;
      },
    };
  }

  private refuse(reason: 'in_flight' | 'queue_wait', retryAfterMs: number, why: string): never {
    this.refusedTotal.inc();
    this.refusedByReason.inc({ saga: this.runner.definition.name, reason });
    this.refusedSinceLog++;
    throw new ModuleError('UNAVAILABLE', `${this.options.what} is at capacity: ${why}; retry later`, this.runner.store.module, undefined, retryAfterMs);
  }

  /** A sample in the background: sample() answers an unreachable database itself; anything else is logged, never unhandled. */
  private sampleNow(): void {
    this.sample().catch((error: unknown) => this.logger.error(`admission sample failed: ${(error as Error)?.message ?? String(error)}`));
  }

  private async sample(): Promise<void> {
    if (this.sampling) return; // a slow database: one sample at a time
    this.sampling = true;
    let settledAtConnection = this.settled;
    try {
      // Under load a sample waits for a pooled connection: what settled meanwhile is in its count, not on top of it.
      const { inFlight, waitedMs } = await this.runner.store.admissionSample(() => (settledAtConnection = this.settled));
      // Admissions settled once it had its connection may be missing from its count: they stay counted on top.
      this.sampledInFlight = inFlight;
      this.settledAtSample = settledAtConnection;
      // Ends before this answer came are in its count already, or may be: only later ones come off.
      this.endedAtSample = this.ended;
      // Sagas that fell due during an outage were not queued behind busy runners, nobody could take
      // them: counted from the outage's end, so the first checkouts after a restart are not refused
      // for it. Waiting on, with the database there, is queueing again.
      const now = performance.now();
      this.reachableSince ??= now;
      this.waitedMs = Math.min(waitedMs, now - this.reachableSince);
    } catch {
      // The database is away: starting a saga fails on its own, with its own 503.
      this.reachableSince = undefined;
    } finally {
      this.sampling = false;
    }
    const now = performance.now();
    if (this.refusedSinceLog > 0 && now - this.loggedAt >= LOG_EVERY_MS) {
      this.logger.warn(
        `refused ${this.refusedSinceLog} new ${this.options.what}s since the last report: ${this.inFlight()} in flight, ` +
          `limit ${this.limit.limit(now)}, ${this.limit.ratePerSecond(now).toFixed(0)} ended/s, queued wait ${Math.round(this.waitedMs)} ms`,
      );
      this.refusedSinceLog = 0;
      this.loggedAt = now;
    }
  }
}
