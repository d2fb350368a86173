/**
 * A saga declared as data and small functions: its steps in order, each with
 * the call that does it and, if it can be undone, the call that undoes it.
 * The engine (SagaRunner) runs it durably in the owning module's schema; this
 * file is only the declaration and the pure state machine that says, given
 * where a saga is and what its step answered, what to log and where to go.
 */

import { composeEffect } from './saga-effect.js';

/** What a step is given: its subject (loaded once per claim) and the attempt's cancellation signal. */
export interface StepCall {
  /** Aborted when the attempt times out or the runner stops: pass it to every contract call. */
  readonly signal: AbortSignal;
}

/** A step's answer: it succeeded (with values the saga records), or refused for a business reason. */
export type StepResult =
  | { readonly failed?: undefined; readonly output?: Readonly<Record<string, string | number | null>> }
  | { readonly failed: string; readonly output?: Readonly<Record<string, string | number | null>> };

/**
 * Where the end of a wait leads: a later forward step, by name (the steps
 * between are skipped), `DONE` (the saga completes: the steps after it are
 * another branch), or giving up with a reason: every earlier step is undone,
 * in reverse (an undo of a skipped step leaves a tombstone, ADR 6).
 */
export type WaitOutcome = string | { readonly fail: string };

/** A wait for signals (by name) with a deadline: whichever comes first decides where the saga goes (ADR 29). */
export interface SagaSignalWait {
  /** Each awaited signal's name (an event's, see `eventSignals`), and where it leads. */
  readonly signals: Readonly<Record<string, WaitOutcome>>;
  /** From when the wait begins, by the database's clock. */
  readonly deadlineMs: number;
  /** Where the saga goes when no signal came in time; the next step if not given. */
  readonly timeout?: WaitOutcome;
}

export interface SagaStepDefinition<S> {
  /** Logged name of the step (STARTED, SUCCEEDED, FAILED). Unique in the saga, like its undo's. */
  readonly name: string;
  /** What the step does; a step that waits (`waitFor`, `sleepMs`) has none. */
  readonly run?: (subject: S, call: StepCall) => Promise<StepResult | void>;
  /**
   * The step waits for a signal (or the first of several), at most
   * `deadlineMs`. While it waits the saga is a row (WAITING): no process,
   * connection or lease holds it; any runner takes it up when a signal lands
   * or the deadline passes. A signal recorded before the wait began counts.
   * The signal's name is the step's output (`TIMEOUT` if none came).
   */
  readonly waitFor?: SagaSignalWait;
  /** The step sleeps this long (by the database's clock), durably as a wait, then the saga goes on with the next step. */
  readonly sleepMs?: number;
  /**
   * Where a sleep leads when it ends, if not to the next step: a later step,
   * or `DONE` when it ends a branch of the saga (the steps after it are another
   * branch, which a wait before it leads to by name).
   */
  readonly then?: WaitOutcome;
  /** Which thrown errors are a business refusal, and for what reason (the rest are technical). */
  readonly refusal?: (error: unknown) => string | undefined;
  /** One attempt's deadline; the attempt is aborted past it. Defaults to the saga's. */
  readonly timeoutMs?: number;
  /**
   * Running the step again for the same subject answers the same and changes
   * nothing more (its call is idempotent by the saga's key). Its success then
   * need not be recorded before the next step starts: the engine records it
   * with the next transition it writes, one statement fewer per step, and a
   * crash in between only runs it again (ADR 14, "checkpoints").
   */
  readonly idempotent?: boolean;
  /**
   * What undoes the step, run in reverse order when a later step fails (and for
   * this step itself when the saga gives up on it: it may still happen late).
   * `logged: false` keeps it out of the log; the step is logged FAILED once it is done.
   */
  readonly undo?: {
    readonly name: string;
    readonly run: (subject: S, call: StepCall) => Promise<void>;
    readonly logged?: boolean;
    readonly timeoutMs?: number;
  };
}

/** What a saga's steps have answered, all of them so far: kept with the saga, so a runner that takes it over has it too. */
export type SagaOutputs = Readonly<Record<string, string | number | null>>;

/**
 * What a transition does to the owning module's own data, in the module's own
 * terms (ADR 35): one statement on one of its tables, whose values are
 * `:named` parameters the module chooses (`params` gives them, per
 * transition), and `:key` the saga's key (text: `id = :key::uuid`). The
 * platform composes it into the one statement that records the transition
 * (ADR 10): it puts the table in the module's schema and runs the statement
 * only if the transition is written (a runner that lost the saga changes
 * nothing of the module's). The events a transition publishes go in that
 * statement too.
 */
export interface SagaEffect<S> {
  /**
   * `UPDATE <table> SET <set> WHERE <where>`, `table` unqualified (one of the
   * module's own). E.g. `{ table: 'orders', set: 'status = coalesce(:status, status)', where: 'id = :key::uuid' }`.
   */
  readonly update?: { readonly table: string; readonly set: string; readonly where: string };
  /**
   * `INSERT INTO <into> (<columns>) VALUES (<values>) [ON CONFLICT <onConflict>]`,
   * `into` unqualified. E.g. `{ into: 'deliveries', columns: 'order_id, outcome', values: ':key::uuid, :outcome', onConflict: '(order_id) DO NOTHING' }`.
   */
  readonly insert?: { readonly into: string; readonly columns: string; readonly values: string; readonly onConflict?: string };
  /** The values of the statement's `:names` (each one: null for SQL's NULL), for this transition. `:key` is the platform's. */
  readonly params?: (transition: Transition) => Readonly<Record<string, unknown>>;
  /**
   * Whether this transition changes the module's data at all; when not, the
   * statement recording it leaves the update or insert out. Every transition if not given.
   */
  readonly when?: (transition: Transition) => boolean;
  /**
   * Events a transition publishes, written by the same statement, atomically
   * with it and only if it applies: built before it runs from the saga's
   * subject and its outputs so far (this transition's included), so the
   * statement stays one round trip even when they have subscribers (ADR 10).
   * A written transition's `output` includes that of the idempotent steps recorded with it.
   */
  readonly events?: (transition: Transition, saga: { readonly key: string; readonly subject: S; readonly outputs: SagaOutputs }) => readonly object[];
}

export interface SagaDefinition<S> {
  /** Unique in the module; stored with every saga and log entry. */
  readonly name: string;
  /**
   * The definition's version, stored with every instance: an instance ends on
   * the version it started on, so a build that changes the steps bumps it and
   * keeps the old definition while instances of it are in flight (ADR 29;
   * `npm run verify` fails on changed steps under the same version).
   */
  readonly version: number;
  readonly steps: readonly SagaStepDefinition<S>[];
  /**
   * Forward steps must finish within this of the start, else the saga gives up
   * and compensates (with `abortReason`). Without it, forward steps are retried
   * until they succeed or the saga gets stuck.
   */
  readonly deadlineMs?: number;
  /** Why the saga ended when it gave up (deadline, or a permanent error); no reason: it never gives up. */
  readonly abortReason?: string;
  readonly stepTimeoutMs: number;
  readonly retry: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  /** Failed attempts of a step that cannot give up (a compensation) before the saga is STUCK for an operator. */
  readonly stuckAfterAttempts: number;
  /** Reads the subjects of claimed sagas (one query for a batch). */
  readonly load: (keys: readonly string[]) => Promise<ReadonlyMap<string, S>>;
  readonly effect?: SagaEffect<S>;
}

export function defineSaga<S>(definition: SagaDefinition<S>): SagaDefinition<S> {
  const names = definition.steps.flatMap((step) => [step.name, ...(step.undo ? [step.undo.name] : [])]);
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated) throw new Error(`saga '${definition.name}' names '${repeated}' twice`);
  if (definition.steps.length === 0) throw new Error(`saga '${definition.name}' has no steps`);
  if (definition.deadlineMs !== undefined && definition.abortReason === undefined) {
    throw new Error(`saga '${definition.name}' has a deadline but no abortReason`);
  }
  if (!Number.isInteger(definition.version) || definition.version < 1) throw new Error(`saga '${definition.name}' needs an integer version of 1 or more`);
  // Its effect composes (a table of its own, parameters it gives): said now, not at the first transition.
  composeEffect(definition.name, definition.effect as SagaEffect<unknown> | undefined, 'module', 11, 'moved');
  definition.steps.forEach((step, index) => {
    const kinds = [step.run !== undefined, step.waitFor !== undefined, step.sleepMs !== undefined].filter(Boolean).length;
    if (kinds !== 1) throw new Error(`saga '${definition.name}': step '${step.name}' needs exactly one of run, waitFor, sleepMs`);
    if (step.then !== undefined && step.sleepMs === undefined)
      throw new Error(`saga '${definition.name}': step '${step.name}' says where it leads (then), but only a sleep does`);
    if (step.run) return;
    if (step.undo || step.idempotent) throw new Error(`saga '${definition.name}': waiting step '${step.name}' has nothing to undo or repeat`);
    const later = [...definition.steps.slice(index + 1).map((next) => next.name), DONE];
    const outcomes = [
      ...Object.values(step.waitFor?.signals ?? {}),
      ...(step.waitFor?.timeout ? [step.waitFor.timeout] : []),
      ...(step.then !== undefined ? [step.then] : []),
    ];
    if (step.waitFor && Object.keys(step.waitFor.signals).length === 0)
      throw new Error(`saga '${definition.name}': step '${step.name}' waits for no signal (a sleep is sleepMs)`);
    const wait = step.waitFor?.deadlineMs ?? step.sleepMs!;
    if (!(wait >= 0)) throw new Error(`saga '${definition.name}': step '${step.name}' waits a negative or unknown time`);
    for (const outcome of outcomes) {
      if (typeof outcome === 'string' && !later.includes(outcome))
        throw new Error(`saga '${definition.name}': step '${step.name}' leads to '${outcome}', not a later step`);
    }
  });
  return definition;
}

export type LogStatus = 'STARTED' | 'SUCCEEDED' | 'FAILED';
export interface LogEntry {
  readonly step: string;
  readonly status: LogStatus;
}

/** Where a saga stands: the action (a step or an undo) it runs next, and why it compensates, if it does. */
export interface SagaState {
  readonly step: string;
  readonly failureReason: string | null;
  /**
   * The furthest forward step a runner may have started beyond `step` without
   * writing it (one that lost its lease, or gave it back, after idempotent
   * steps): a give-up or a refusal undoes up to there (ADR 19). None: nothing
   * beyond `step` was started by anyone but the runner that holds the saga now.
   */
  readonly reach?: string | null;
}

export interface Transition {
  /** The next action, or DONE. */
  readonly next: string;
  readonly failureReason: string | null;
  readonly log: readonly LogEntry[];
  /** Set when this transition ends the saga: completed (every step done) or compensated. */
  readonly outcome?: { readonly status: 'COMPLETED' } | { readonly status: 'COMPENSATED'; readonly reason: string };
  /** What the step answered, for the effect. */
  readonly output: Readonly<Record<string, string | number | null>>;
}

export const DONE = 'DONE';

interface Position {
  readonly index: number;
  readonly undoing: boolean;
}

/** The saga's plan: names to positions, and the transitions between them. */
export class SagaPlan<S> {
  private readonly positions = new Map<string, Position>();

  constructor(readonly definition: SagaDefinition<S>) {
    definition.steps.forEach((step, index) => {
      this.positions.set(step.name, { index, undoing: false });
      if (step.undo) this.positions.set(step.undo.name, { index, undoing: true });
    });
  }

  get first(): string {
    return this.definition.steps[0].name;
  }

  /**
   * The furthest step a runner holding the saga at forward step `step` may
   * start before it writes anything: past each idempotent step (its success
   * waits for the next write), into the first that is not, or the last.
   */
  reachFrom(step: string): string {
    return this.definition.steps[reachIndexes(this.definition.steps)[this.position(step).index]].name;
  }

  /** Whether the action's success may be recorded with the next transition (see `idempotent`): forward steps only. */
  isIdempotent(step: string): boolean {
    const { index, undoing } = this.position(step);
    return !undoing && this.definition.steps[index].idempotent === true;
  }

  /** A forward step that waits (for signals with a deadline, or a sleep): the saga is a WAITING row meanwhile. */
  isWait(step: string): boolean {
    if (step === DONE) return false;
    const { index, undoing } = this.position(step);
    const definition = this.definition.steps[index];
    return !undoing && definition.run === undefined;
  }

  /** How long a waiting step waits (ms, from when it begins) and for which signals. */
  waitOf(step: string): { readonly ms: number; readonly signals: readonly string[] } {
    const definition = this.definition.steps[this.position(step).index];
    if (definition.waitFor) return { ms: definition.waitFor.deadlineMs, signals: Object.keys(definition.waitFor.signals) };
    return { ms: definition.sleepMs ?? 0, signals: [] };
  }

  /** A waiting step got signal `signal`: where it leads (its name is the step's output). */
  signalled(state: SagaState, signal: string): Transition {
    const { index } = this.position(state.step);
    const outcome = this.definition.steps[index].waitFor?.signals[signal];
    if (outcome === undefined) throw new Error(`saga '${this.definition.name}': ${state.step} does not wait for '${signal}'`);
    return this.waitEnded(index, outcome, signal);
  }

  /** A waiting step's time is up with no signal: a sleep goes on, a wait for signals where its `timeout` says. */
  timedOut(state: SagaState): Transition {
    const { index } = this.position(state.step);
    const step = this.definition.steps[index];
    return this.waitEnded(index, step.waitFor?.timeout ?? step.then ?? this.definition.steps[index + 1]?.name ?? DONE, step.waitFor ? 'TIMEOUT' : 'SLEPT');
  }

  private waitEnded(index: number, outcome: WaitOutcome, ended: string): Transition {
    const steps = this.definition.steps;
    const output = { [steps[index].name]: ended };
    if (typeof outcome !== 'string') return { ...this.compensateBelow(index, outcome.fail, [{ step: steps[index].name, status: 'FAILED' }]), output };
    const succeeded: LogEntry = { step: steps[index].name, status: 'SUCCEEDED' };
    if (outcome === DONE) return { next: DONE, failureReason: null, log: [succeeded], outcome: { status: 'COMPLETED' }, output };
    return { next: outcome, failureReason: null, log: [succeeded, { step: outcome, status: 'STARTED' }], output };
  }

  /** A forward step (it may give up); false for an undo. */
  isForward(step: string): boolean {
    return !this.position(step).undoing;
  }

  /** Whether the saga may give up this action (deadline, permanent error) rather than retry it. */
  canGiveUp(step: string): boolean {
    return this.isForward(step) && this.definition.abortReason !== undefined;
  }

  timeoutMs(step: string): number {
    const { index, undoing } = this.position(step);
    const definition = this.definition.steps[index];
    return (undoing ? definition.undo?.timeoutMs : definition.timeoutMs) ?? this.definition.stepTimeoutMs;
  }

  async run(state: SagaState, subject: S, call: StepCall): Promise<StepResult> {
    const { index, undoing } = this.position(state.step);
    const step = this.definition.steps[index];
    if (undoing) {
      await step.undo!.run(subject, call);
      return {};
    }
    if (!step.run) throw new Error(`saga '${this.definition.name}': ${state.step} waits, it runs nothing`);
    try {
      return (await step.run(subject, call)) ?? {};
    } catch (error) {
      const reason = step.refusal?.(error);
      if (reason === undefined) throw error;
      return { failed: reason };
    }
  }

  /** Where the current action's answer leads. */
  decide(state: SagaState, result: StepResult): Transition {
    const { index, undoing } = this.position(state.step);
    const output = result.output ?? {};
    const steps = this.definition.steps;
    if (undoing) {
      const undo = steps[index].undo!;
      const done: LogEntry = undo.logged === false ? { step: steps[index].name, status: 'FAILED' } : { step: undo.name, status: 'SUCCEEDED' };
      return { ...this.compensateBelow(index, this.reasonOf(state), [done]), output };
    }
    if (result.failed !== undefined) {
      // The refused step did nothing; steps past it may have run only for a runner lost since (its `reach`).
      // An idempotent step answers a re-run as it answered the first run: refused now, it was refused
      // then, so a lost runner never got past it.
      const top = steps[index].idempotent === true ? index : this.reachIndex(state, index);
      if (top === index) return { ...this.compensateBelow(index, result.failed, [{ step: steps[index].name, status: 'FAILED' }]), output };
      return { ...this.compensateFrom(index, top, result.failed), output };
    }
    const succeeded: LogEntry = { step: steps[index].name, status: 'SUCCEEDED' };
    if (index === steps.length - 1) return { next: DONE, failureReason: null, log: [succeeded], outcome: { status: 'COMPLETED' }, output };
    const next = steps[index + 1].name;
    return { next, failureReason: null, log: [succeeded, { step: next, status: 'STARTED' }], output };
  }

  /**
   * The saga gives up the forward step it is at (deadline passed, or a permanent
   * error): whatever that step may still do is treated as done, and undone; so
   * is every step a lost runner may have started past it (`reach`, ADR 19).
   */
  giveUp(state: SagaState, why?: string): Transition {
    const { index, undoing } = this.position(state.step);
    const reason = why ?? this.definition.abortReason;
    if (undoing || reason === undefined) throw new Error(`saga '${this.definition.name}' cannot give up ${state.step}`);
    return { ...this.compensateFrom(index, this.reachIndex(state, index), reason), output: {} };
  }

  /**
   * Steps `index` to `top` may have run, none is known to have succeeded: each
   * is logged FAILED (one with a hidden undo once that undo is done, as
   * before), then every undo from `top` down runs, in reverse order. An undo
   * is harmless for a step that never ran (a tombstone: ADR 6), so undoing
   * one that may not have run costs a call, never a wrong result.
   */
  private compensateFrom(index: number, top: number, reason: string): Omit<Transition, 'output'> {
    const steps = this.definition.steps;
    const log: LogEntry[] = [];
    for (let at = index; at <= top; at++) {
      if (steps[at].undo?.logged !== false) log.push({ step: steps[at].name, status: 'FAILED' });
    }
    return this.compensateBelow(top + 1, reason, log);
  }

  /** The furthest step that may have run, from forward step `index` and the saga's `reach`. */
  private reachIndex(state: SagaState, index: number): number {
    if (!state.reach) return index;
    const reach = this.positions.get(state.reach);
    // A reach the definition no longer has (a step renamed since): every step may have run.
    if (!reach || reach.undoing) return this.definition.steps.length - 1;
    return Math.max(index, reach.index);
  }

  private compensateBelow(index: number, reason: string, log: LogEntry[]): Omit<Transition, 'output'> {
    for (let below = index - 1; below >= 0; below--) {
      const undo = this.definition.steps[below].undo;
      if (!undo) continue;
      const started: LogEntry[] = undo.logged === false ? [] : [{ step: undo.name, status: 'STARTED' }];
      return { next: undo.name, failureReason: reason, log: [...log, ...started] };
    }
    return { next: DONE, failureReason: reason, log, outcome: { status: 'COMPENSATED', reason } };
  }

  private position(step: string): Position {
    const position = this.positions.get(step);
    if (!position) throw new Error(`saga '${this.definition.name}' has no step '${step}'`);
    return position;
  }

  private reasonOf(state: SagaState): string {
    if (!state.failureReason) throw new Error(`${state.step} runs only during compensation, which has a reason`);
    return state.failureReason;
  }
}

/**
 * For each step (by index), the index of the furthest step a runner holding
 * the saga there may start before writing: past idempotent steps, into the
 * first that is not, or the last (the store passes them to its claim, ADR 19).
 */
export function reachIndexes(steps: ReadonlyArray<Pick<SagaStepDefinition<unknown>, 'idempotent'>>): number[] {
  const reach: number[] = [];
  for (let index = steps.length - 1; index >= 0; index--) {
    reach[index] = steps[index].idempotent === true && index < steps.length - 1 ? reach[index + 1] : index;
  }
  return reach;
}
