import { Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ModuleError } from '../contracts/module.error.js';
import type { TransactionRunner } from '../messaging/transaction-runner.js';
import type { Metrics } from '../observability/metrics.js';
import { contextFrom, inSpan } from '../observability/tracing.js';
import { type PassLoop, type PassResult, WakeableLoop, type WakeableLoopOptions } from '../scheduling/wakeable-loop.js';
import { SagaPlan, type SagaDefinition, type SagaState, type Transition } from './saga-definition.js';
import { type HeldSaga, SagaStore } from './saga-store.js';
import { type SagaClock, systemClock } from './saga-clock.js';
import { sagaWakeups } from './saga-signals.js';

/** Engine settings shared by every saga of a runner. */
export interface SagaRunnerOptions {
  /** How long a runner holds a saga; longer than a step may take. */
  readonly leaseMs: number;
  /**
   * Sagas one runner runs at once, whether started here (`runNow`) or claimed
   * from the queue (each calls other modules: keep within their pools).
   */
  readonly concurrency: number;
  /** The recovery poll; started and retried sagas wake the runner without it. */
  readonly pollIntervalMs: number;
  /** The process's clock and timers; the system's unless a test drives its own. */
  readonly clock?: SagaClock;
  /** What runs the passes (default a WakeableLoop); a test's loop runs them when it says. */
  readonly loop?: (pass: () => Promise<PassResult>, options: WakeableLoopOptions) => PassLoop;
}

/** An attempt that got no answer within its deadline: it is aborted, then retried. */
export class StepTimeoutError extends Error {
  override readonly name = 'StepTimeoutError';
}

/**
 * Errors retrying cannot mend: the callee understood and refused (bad input, a
 * conflict, an impossible request, an unknown id). A forward step that gets one
 * gives up at once; a compensation that gets one is stuck for an operator.
 */
export function isPermanent(error: unknown): boolean {
  return error instanceof ModuleError && ['INVALID', 'CONFLICT', 'UNPROCESSABLE', 'NOT_FOUND'].includes(error.code);
}

export type SagaOutcome = NonNullable<Transition['outcome']>;

/**
 * An idempotent step's success is left unrecorded only while the lease would
 * outlast the next step's whole timeout by this much: the clock that checks
 * the lease is the database's, this one is the process's, and a round trip
 * separates them.
 */
const LEASE_MARGIN_MS = 1_000;

/**
 * Runs one saga type durably from the owning module's tables: claims due
 * sagas (SKIP LOCKED + lease), runs their current step with a deadline whose
 * expiry aborts the attempt, records each result in one statement, retries
 * technical failures with back-off, compensates in reverse order, and parks a
 * compensation that keeps failing as STUCK. Any number of runners (replicas)
 * share one database; a crashed one's sagas resume when its leases expire, a
 * stopped one gives its leases back.
 */
export class SagaRunner<S> implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** The newest version's: new sagas start on it. */
  readonly definition: SagaDefinition<S>;
  readonly plan: SagaPlan<S>;
  readonly store: SagaStore<S>;
  /** Every version this build carries, by number: a saga ends on the one it started on (ADR 29). */
  private readonly versions = new Map<number, { readonly plan: SagaPlan<S>; readonly store: SagaStore<S> }>();
  private stopListening: () => void = () => {};
  private readonly logger: Logger;
  private readonly loop: PassLoop;
  /** Every saga this runner runs now, started here or claimed: at most `concurrency`. */
  private readonly running = new Set<Promise<void>>();
  /**
   * Sagas leased to this runner that wait for a place, oldest first: started
   * here when every place was taken, or claimed ahead so that a place that
   * frees is filled at once, without a round trip (ADR 44).
   */
  private readonly ready: Array<HeldSaga<S>> = [];
  /**
   * Whether due sagas may wait in the table: a claim took all it asked for,
   * or a saga was started (or woken) without being leased here. While it
   * holds, new starts queue behind them in the table (first come, first run)
   * and the loop claims whenever there is room; a claim that comes back short
   * clears it (nothing more was due).
   */
  private backlog = true;
  /** Sagas this runner holds now, with the version it holds them at: given back on stop. */
  private readonly held = new Map<string, HeldSaga<S>>();
  private readonly stopping = new AbortController();
  private readonly outcomes;
  private readonly stuck;
  private readonly endListeners: Array<(key: string, outcome: SagaOutcome, runningMs: number) => void> = [];
  /** When this runner took each saga it holds (`clock.now()`): how long a saga ran, for the admission. */
  private readonly takenAt = new Map<string, number>();
  private readonly clock: SagaClock;

  /**
   * `definitions`: one saga's definition, or several versions of it (the
   * newest starts new sagas; older ones finish the sagas started on them).
   */
  constructor(
    definitions: SagaDefinition<S> | readonly SagaDefinition<S>[],
    private readonly options: SagaRunnerOptions,
    db: DataSource,
    transactions: TransactionRunner,
    metrics: Metrics,
    private readonly onEnd: (key: string, outcome: SagaOutcome) => void = () => {},
  ) {
    const all = (Array.isArray(definitions) ? definitions : [definitions]) as readonly SagaDefinition<S>[];
    const definition = [...all].sort((a, b) => b.version - a.version)[0];
    if (!definition) throw new Error('a saga runner needs a definition');
    this.definition = definition;
    this.clock = options.clock ?? systemClock;
    for (const version of all) {
      if (version.name !== definition.name) throw new Error(`saga '${definition.name}': a runner runs the versions of one saga, not '${version.name}'`);
      if (this.versions.has(version.version)) throw new Error(`saga '${definition.name}' has version ${version.version} twice`);
      this.versions.set(version.version, { plan: new SagaPlan(version), store: new SagaStore(version, db, transactions, transactions.module, this.clock) });
    }
    ({ plan: this.plan, store: this.store } = this.versions.get(definition.version)!);
    this.logger = new Logger(`${transactions.module}.${definition.name}-saga`);
    this.outcomes = metrics.counter('saga_outcomes_total', 'Sagas ended, by saga, outcome and reason', ['saga', 'outcome', 'reason']);
    this.stuck = metrics.counter('saga_stuck_total', 'Sagas parked as STUCK for an operator (npm run sagas -- stuck)', ['saga']);
    let stuckNow = 0;
    metrics.gauge(
      `saga_stuck_${definition.name.replace(/[^a-zA-Z0-9_]/g, '_')}`,
      `${definition.name} sagas STUCK now, waiting for an operator`,
      () => stuckNow,
    );
    let sampledAt = 0;
    // At most every few seconds, whatever the number of passes: not a query per wake-up on the hot path.
    this.sampleStuck = async (now = false) => {
      if (!now && performance.now() - sampledAt < 5_000) return;
      sampledAt = performance.now();
      stuckNow = await this.store.stuckCount().catch(() => stuckNow);
    };
    const loopOf = options.loop ?? ((pass, loopOptions) => new WakeableLoop(pass, loopOptions));
    this.loop = loopOf(() => this.pass(), {
      pollIntervalMs: options.pollIntervalMs,
      shutdownDeadlineMs: definition.stepTimeoutMs + 1_000,
      onError: (error) => this.logger.warn(`saga pass failed, retrying on the next poll: ${(error as Error).message}`),
    });
  }

  private readonly sampleStuck: (now?: boolean) => Promise<void>;

  /** The stuck gauge's count, not awaited by a pass or a park: a failure is logged, never an unhandled rejection. */
  private sampleStuckInBackground(now = false): void {
    this.sampleStuck(now).catch((error: unknown) => this.logger.warn(`counting stuck sagas failed: ${(error as Error)?.message ?? String(error)}`));
  }

  /**
   * Starts the loop, unless sagas are in flight on a version this build no
   * longer carries: it would not know their steps, so it refuses, naming the
   * version and how many (ADR 29: deploy a build that still carries it).
   */
  async onApplicationBootstrap(): Promise<void> {
    const orphans = await this.store.versionsInFlight([...this.versions.keys()]);
    if (orphans.length > 0) {
      const which = orphans.map((orphan) => `${orphan.count} on version ${orphan.version}`).join(', ');
      throw new Error(
        `saga '${this.definition.name}': ${which} in flight, and this build carries only version(s) ${[...this.versions.keys()].join(', ')}; ` +
          `deploy a build that keeps the definition of each until they end (npm run sagas -- list)`,
      );
    }
    this.stopListening = sagaWakeups.on(this.store.module, this.definition.name, () => this.wake());
    this.loop.start();
  }

  /**
   * A graceful stop: no new claims, steps in flight get their step timeout to
   * finish, then are aborted; every lease still held is given back, so another
   * replica (or this one restarted) takes the sagas at once.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopListening();
    await this.loop.stop();
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.running),
      new Promise<void>((resolve) => {
        deadline = setTimeout(resolve, this.definition.stepTimeoutMs + 1_000);
      }),
    ]);
    clearTimeout(deadline);
    this.stopping.abort(new StepTimeoutError('the runner is stopping'));
    await Promise.all(
      [...this.held.values(), ...this.ready.splice(0)].map((saga) =>
        this.of(saga)
          .store.release(saga, 0)
          .catch(() => false),
      ),
    );
    this.held.clear();
  }

  /** Hears every saga this runner ends, and how long it ran here (the admission counts them: ADR 16). */
  onEnded(listener: (key: string, outcome: SagaOutcome, runningMs: number) => void): void {
    this.endListeners.push(listener);
  }

  /**
   * Whether a saga about to be started here may be leased to this process
   * and run by it (`runNow`) rather than left to a claim: while none waits in
   * the table before it, and this runner has room (a place, or a short wait
   * for one). Asked before the start's statement: many in flight at once may
   * all say yes; those that find every place taken wait in `ready`.
   */
  canTakeOver(): boolean {
    return !this.loop.stopping && !this.backlog && this.room() > 0;
  }

  /**
   * Runs a saga its caller has just started, leased to this process (see
   * `SagaStore.startSql`), with its subject in hand: no claim, no reload; at
   * once if a place is free, else as soon as one is. A crash meanwhile only
   * delays it: the lease runs out and any runner resumes it.
   */
  runNow(key: string, subject: S, traceContext: Readonly<Record<string, string>>): void {
    const saga: HeldSaga<S> = {
      key,
      step: this.plan.first,
      failureReason: null,
      attempts: 0,
      version: 1,
      overdue: false,
      traceContext,
      subject,
      outputs: {},
      // Leased by the caller's statement a round trip ago: within LEASE_MARGIN_MS.
      leaseEndsAt: this.clock.now() + this.options.leaseMs,
      // Started with the definition's deadline by the same statement.
      deadlineEndsAt: this.clock.now() + (this.definition.deadlineMs ?? Number.POSITIVE_INFINITY),
      reach: null,
      definitionVersion: this.definition.version,
    };
    this.ready.push(saga);
    this.fill();
  }

  /** Resolves once no saga runs here, counting those that start meanwhile (a test's pass waits for its sagas so). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /** A saga was started (or can go on): run it now rather than at the next poll. */
  wake(): void {
    this.backlog = true;
    this.loop.wake();
  }

  /**
   * Fills the free places from `ready`, oldest first, each saga outside any
   * pass: a pass never waits for the slowest saga it claimed (ADR 44). A
   * saga whose lease is running out while it waited is left to a claim (it
   * falls due when the lease ends). When `ready` runs low while sagas may wait
   * in the table, the loop claims more.
   */
  private fill(): void {
    // A stopping runner starts nothing more: what waits in line is given back with its leases.
    while (!this.loop.stopping && this.running.size < this.options.concurrency && this.ready.length > 0) {
      const saga = this.ready.shift()!;
      // Its lease nearly gone while it waited (a runner far behind): left to whichever runner claims it once it lapses.
      if (this.clock.now() + Math.min(LEASE_MARGIN_MS, this.options.leaseMs / 2) >= saga.leaseEndsAt) continue;
      const running: Promise<void> = this.advance(saga)
        .catch(() => false) // it never throws; were it to, the place must still free
        .then((waits) => {
          this.running.delete(running);
          // A wait it entered falls due after the loop last asked when the next saga does.
          if (waits) this.wake();
          this.fill();
        });
      this.running.add(running);
    }
    if (this.backlog && this.room() >= this.claimAtLeast()) this.loop.wake();
  }

  /** Sagas this runner may take on now: its places, and as many again waiting for one (the claim ahead). */
  private room(): number {
    return this.options.concurrency + this.ahead() - this.running.size - this.ready.length;
  }

  /** How many sagas wait leased in `ready` at most, claimed ahead: a quarter of the places. */
  private ahead(): number {
    return Math.max(1, Math.ceil(this.options.concurrency / 4));
  }

  /**
   * A claim is one statement whatever it takes (and one to load the subjects):
   * under load the loop claims once there is room for a quarter of the places,
   * not once per saga that ends; with nothing running, for any.
   */
  private claimAtLeast(): number {
    return this.running.size === 0 && this.ready.length === 0 ? 1 : this.ahead();
  }

  private async pass(): Promise<number | undefined> {
    this.sampleStuckInBackground();
    // The newest version last: older ones are few, and drain.
    for (const { store } of [...this.versions.values()].reverse()) {
      while (!this.loop.stopping) {
        const room = this.room();
        // No room: a place that frees wakes the loop (see fill); the poll is the fallback.
        if (room < this.claimAtLeast()) return undefined;
        this.backlog = false;
        const due = await store.claim(room, this.options.leaseMs);
        this.ready.push(...due);
        this.fill();
        if (due.length < room) break;
        this.backlog = true;
      }
    }
    return this.loop.stopping ? undefined : this.store.nextDueInMs();
  }

  /** The plan and store of the version a saga started on. */
  private of(saga: Pick<HeldSaga<S>, 'definitionVersion'>): { readonly plan: SagaPlan<S>; readonly store: SagaStore<S> } {
    const version = this.versions.get(saga.definitionVersion ?? this.definition.version);
    if (!version) throw new Error(`saga '${this.definition.name}' has no version ${saga.definitionVersion} in this build`);
    return version;
  }

  /** Runs a saga step after step while this runner holds it; never throws. Answers whether it entered a wait. */
  private async advance(claimed: HeldSaga<S>): Promise<boolean> {
    const placedIn = contextFrom(claimed.traceContext);
    let saga: HeldSaga<S> | undefined = claimed;
    this.takenAt.set(claimed.key, this.clock.now());
    try {
      while (saga) {
        const current: HeldSaga<S> = saga;
        this.held.set(current.key, current);
        saga = await inSpan(
          `${this.store.module}.${this.definition.name}.${current.step}`,
          {
            parent: placedIn,
            attributes: { module: this.store.module, 'saga.key': current.key, 'saga.step': current.step, 'saga.attempt': current.attempts + 1 },
          },
          () => this.step(current),
        );
      }
      this.held.delete(claimed.key);
      return this.enteredWait.delete(claimed.key);
    } catch (error) {
      // Recording failed (the database is away, say): give the saga back for another try soon,
      // unless another runner took it meanwhile (the release checks the version).
      const lost = saga ?? claimed;
      this.held.delete(claimed.key);
      this.logger.warn({ msg: `advancing the saga failed, giving it back: ${(error as Error)?.message ?? error}`, key: lost.key });
      await this.of(lost)
        .store.release(lost, this.definition.retry.initialDelayMs)
        .catch(() => false);
      return false;
    } finally {
      this.takenAt.delete(claimed.key);
      this.enteredWait.delete(claimed.key);
    }
  }

  /** Sagas whose last write here began a wait. */
  private readonly enteredWait = new Set<string>();

  /**
   * A saga at a waiting step: it begins the wait (the row becomes WAITING),
   * or, taken up while waiting, goes where its signal or its time up leads;
   * neither (a signal it does not await): back to waiting, no transition.
   */
  private waitTransition(saga: HeldSaga<S>, plan: SagaPlan<S>): Transition | undefined {
    if (!saga.waiting) return { next: saga.step, failureReason: saga.failureReason, log: [], output: {} };
    if (saga.signal) return plan.signalled(saga, saga.signal.name);
    if (saga.waitOver) return plan.timedOut(saga);
    return undefined;
  }

  /** Runs one step and records where it leads; answers the saga to go on with, if any. */
  private async step(held: HeldSaga<S>): Promise<HeldSaga<S> | undefined> {
    let transition: Transition;
    let saga = held;
    const state: SagaState = saga;
    const { plan, store } = this.of(saga);
    if (saga.cancelReason && plan.isForward(saga.step)) {
      transition = plan.giveUp(state, saga.cancelReason);
      saga = { ...saga, signal: null };
    } else if (saga.overdue && plan.canGiveUp(saga.step)) {
      transition = plan.giveUp(state);
      saga = { ...saga, signal: null };
    } else if (plan.isWait(saga.step)) {
      const waited = this.waitTransition(saga, plan);
      if (!waited) {
        await store.rewait(saga);
        this.held.delete(saga.key);
        return undefined;
      }
      transition = waited;
      if (!saga.signal || transition.output[saga.step] !== saga.signal.name) saga = { ...saga, signal: null };
    } else {
      try {
        transition = plan.decide(state, await this.attempt(saga, plan));
      } catch (error) {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        if (isPermanent(error) && plan.canGiveUp(saga.step)) {
          this.logger.warn({ msg: `${saga.step} failed for good, giving up: ${message}`, key: saga.key });
          transition = plan.giveUp(state);
        } else {
          // The row must show this step, not one before it, to the operator and to the retry.
          const recorded = await this.recorded(saga);
          if (!recorded) return undefined;
          if (isPermanent(error) || (!plan.canGiveUp(saga.step) && saga.attempts + 1 >= this.definition.stuckAfterAttempts)) {
            await this.park(recorded, message);
          } else {
            await this.retryLater(recorded, message);
          }
          return undefined;
        }
      }
    }
    if (this.mayLeaveUnrecorded(saga, transition, plan)) {
      const at = this.clock.now();
      return {
        ...saga,
        step: transition.next,
        attempts: 0,
        unrecorded: {
          log: [...(saga.unrecorded?.log ?? []), ...transition.log.map((entry) => ({ ...entry, at }))],
          output: { ...saga.unrecorded?.output, ...transition.output },
        },
      };
    }
    const { applied, next } = await store.advance(saga, transition, this.options.leaseMs, this.loop.stopping);
    if (applied && plan.isWait(transition.next)) this.enteredWait.add(saga.key);
    if (applied && transition.outcome) {
      const reason = transition.outcome.status === 'COMPENSATED' ? transition.outcome.reason : 'none';
      this.outcomes.inc({ saga: this.definition.name, outcome: transition.outcome.status, reason });
      this.onEnd(saga.key, transition.outcome);
      const runningMs = this.clock.now() - (this.takenAt.get(saga.key) ?? this.clock.now());
      for (const listener of this.endListeners) listener(saga.key, transition.outcome, runningMs);
    }
    if (!applied) this.held.delete(saga.key);
    // A stopping runner recorded the step unleased (see advance): any runner goes on from there.
    return this.loop.stopping ? undefined : next;
  }

  /**
   * An idempotent forward step succeeded and the saga goes on forward: nothing
   * needs writing before the next step, as long as this runner's lease surely
   * outlasts it and the saga's deadline is surely not passing. The next write records both (a crash meanwhile repeats the step).
   */
  private mayLeaveUnrecorded(saga: HeldSaga<S>, transition: Transition, plan: SagaPlan<S>): boolean {
    return (
      !this.loop.stopping &&
      transition.outcome === undefined &&
      transition.failureReason === null &&
      plan.isIdempotent(saga.step) &&
      plan.isForward(transition.next) &&
      // A wait begins with a write: the row is what waits.
      !plan.isWait(transition.next) &&
      this.clock.now() + plan.timeoutMs(transition.next) + LEASE_MARGIN_MS < saga.leaseEndsAt &&
      // Close to the deadline, the write asks the database whether it has passed (then the next step gives up).
      this.clock.now() + LEASE_MARGIN_MS < saga.deadlineEndsAt
    );
  }

  /** The saga as written, with what its idempotent steps did since the last write recorded first. */
  private async recorded(saga: HeldSaga<S>): Promise<HeldSaga<S> | undefined> {
    if (!saga.unrecorded) return saga;
    const stay: Transition = { next: saga.step, failureReason: saga.failureReason, log: [], output: {} };
    const { applied, next } = await this.of(saga).store.advance(saga, stay, this.options.leaseMs);
    if (!applied) this.held.delete(saga.key);
    return next;
  }

  /** One attempt of the current action, aborted past its deadline or when the runner stops for good. */
  private async attempt(saga: HeldSaga<S>, plan: SagaPlan<S>) {
    const timeoutMs = plan.timeoutMs(saga.step);
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.stopping.signal]);
    const timer = this.clock.setTimeout(() => controller.abort(new StepTimeoutError(`${saga.step} did not answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      return await abortable(plan.run(saga, saga.subject, { signal }), signal);
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  private async retryLater(saga: HeldSaga<S>, message: string): Promise<void> {
    const { initialDelayMs, maxDelayMs } = this.definition.retry;
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(saga.attempts, 30));
    this.logger.warn({ msg: `${saga.step} attempt ${saga.attempts + 1} failed, retry in ${delay} ms: ${message}`, key: saga.key });
    // A forward step is not retried past the deadline (the database's): it gives up then.
    const { plan, store } = this.of(saga);
    await store.retryLater(saga, delay, message, plan.canGiveUp(saga.step));
    this.held.delete(saga.key);
  }

  private async park(saga: HeldSaga<S>, message: string): Promise<void> {
    if (await this.of(saga).store.markStuck(saga, message)) {
      this.stuck.inc({ saga: this.definition.name });
      this.logger.error({
        msg:
          `${this.definition.name} saga STUCK at ${saga.step} after ${saga.attempts + 1} attempt(s); ` +
          `see \`npm run sagas -- stuck\`, then \`npm run sagas -- retry ${saga.key}\`: ${message}`,
        key: saga.key,
      });
      this.sampleStuckInBackground(true);
    }
    this.held.delete(saga.key);
  }
}

/** Settles like `promise`, or rejects with the signal's reason once it aborts (the caller stops waiting). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
