import { Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import type { Metrics } from '../observability/metrics.js';
import { ident } from '../database/provisioning.js';
import type { SagaRunner } from './saga-runner.js';

/** How a wait for a saga's end came out: it ended (perhaps before), it still runs, or there is no such saga. */
export type SagaEndWait = 'ENDED' | 'RUNNING' | 'UNKNOWN';

export interface SagaEndsOptions {
  /** Waits at once in this process; past it, a wait answers at once with where the saga stands (ADR 30). */
  readonly maxWaiters: number;
  /** The module's own connection URL, for the one LISTEN connection; none: ends of other processes are heard only at the timeout. */
  readonly listenUrl: string | undefined;
  /** How soon a lost LISTEN connection is tried again. */
  readonly relistenMs?: number;
}

/**
 * One saga type's ends, observable by key (ADR 30): a caller waits for the
 * saga `key` to end, holding no connection and no lock while it waits. Woken
 * in process when this process's runner ends it; by PostgreSQL NOTIFY when
 * another process's does (one LISTEN connection per process, opened at the
 * first wait, whatever the number of waiters). A waiter marks its saga
 * watched first (`SagaStore.watch`), so only the ends someone waits for
 * notify. Knows no module: the module asks for its own sagas' keys.
 */
export class SagaEnds implements BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly waiters = new Map<string, Set<(how: string) => void>>();
  private waiting = 0;
  private listener: pg.Client | undefined;
  private listening: Promise<void> | undefined;
  private stopped = false;
  private readonly waits;

  constructor(
    private readonly runner: SagaRunner<unknown>,
    private readonly options: SagaEndsOptions,
    metrics: Metrics,
  ) {
    this.logger = new Logger(`${runner.store.module}.${runner.definition.name}-ends`);
    runner.onEnded((key) => this.wake(key, 'local'));
    this.waits = metrics.counter(
      'saga_end_waits_total',
      "Waits for a saga's end (Prefer: wait), by saga and how they ended: local, notify (another process ended it), before (already ended), timeout, stopping, unknown (no such saga), refused (too many waiting)",
      ['saga', 'woken'],
    );
    metrics.gauge(
      `saga_end_waiters_${runner.definition.name.replace(/[^a-zA-Z0-9_]/g, '_')}`,
      `Callers waiting for a ${runner.definition.name} saga's end now`,
      () => this.waiting,
    );
  }

  /** Waits at most `timeoutMs` for the saga `key` to end; never throws for a timeout. */
  async waitFor(key: string, timeoutMs: number): Promise<SagaEndWait> {
    const saga = this.runner.definition.name;
    if (this.stopped || this.waiting >= this.options.maxWaiters) {
      this.waits.inc({ saga, woken: 'refused' });
      return this.standing(await this.runner.store.watch(key));
    }
    this.waiting++;
    let woken!: (how: string) => void;
    const wake = new Promise<string>((resolve) => (woken = resolve));
    this.add(key, woken);
    try {
      // Listening before the mark: an end that sees the mark notifies a connection already listening.
      await this.listen();
      const status = await this.runner.store.watch(key);
      if (status === undefined || status === 'DONE') {
        this.waits.inc({ saga, woken: status === undefined ? 'unknown' : 'before' });
        return this.standing(status);
      }
      let timer: NodeJS.Timeout | undefined;
      const how = await Promise.race([wake, new Promise<string>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))]);
      clearTimeout(timer);
      this.waits.inc({ saga, woken: how });
      return how === 'local' || how === 'notify' ? 'ENDED' : 'RUNNING';
    } finally {
      this.remove(key, woken);
      this.waiting--;
    }
  }

  /** Stopping: every waiter is answered now (with where its saga stands), and the LISTEN connection closed. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const key of [...this.waiters.keys()]) this.wake(key, 'stopping');
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
  }

  private standing(status: string | undefined): SagaEndWait {
    return status === undefined ? 'UNKNOWN' : status === 'DONE' ? 'ENDED' : 'RUNNING';
  }

  private add(key: string, waiter: (how: string) => void): void {
    let set = this.waiters.get(key);
    if (!set) this.waiters.set(key, (set = new Set()));
    set.add(waiter);
  }

  private remove(key: string, waiter: (how: string) => void): void {
    const set = this.waiters.get(key);
    set?.delete(waiter);
    if (set?.size === 0) this.waiters.delete(key);
  }

  private wake(key: string, how: string): void {
    for (const waiter of this.waiters.get(key) ?? []) waiter(how);
  }

  /** The LISTEN connection, opened once; a failure leaves waiters to their timeout (they then read where the saga stands). */
  private listen(): Promise<void> {
    if (this.options.listenUrl === undefined || this.stopped) return Promise.resolve();
    this.listening ??= this.connect(this.options.listenUrl).catch((error: unknown) => {
      this.logger.warn(`cannot LISTEN for saga ends yet (${(error as Error).message}); waiters hear other processes' ends at their timeout`);
      this.retry();
    });
    return this.listening;
  }

  private async connect(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url, application_name: `monolith-first:${this.runner.store.module}:saga-ends` });
    client.on('notification', (message) => {
      if (message.payload !== undefined) this.wake(message.payload, 'notify');
    });
    const lost = (error?: Error) => {
      if (this.listener !== client) return;
      this.logger.warn(`LISTEN connection for saga ends lost (${error?.message ?? 'closed'}); reconnecting`);
      this.listener = undefined;
      this.retry();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${ident(this.runner.store.endsChannel)}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    this.listener = client;
    // Ends while no connection listened were not heard: the waiters' sagas that ended meanwhile are woken now.
    const keys = [...this.waiters.keys()];
    if (keys.length > 0) for (const key of await this.runner.store.ended(keys)) this.wake(key, 'notify');
  }

  private retry(): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.listening = undefined;
      // Waiters now would hear nothing from other processes: listen again for them (else at the next wait).
      // listen() logs its own failure and retries; the catch is for what it does not foresee.
      if (this.waiters.size > 0)
        this.listen().catch((error: unknown) => this.logger.warn(`listening for saga ends failed: ${(error as Error)?.message ?? String(error)}`));
    }, this.options.relistenMs ?? 1_000);
    timer.unref();
  }
}
