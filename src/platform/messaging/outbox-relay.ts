import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import pg from 'pg';
import type { MessageBus } from './message-bus.js';
import { NoRouteError, PoisonMessageError } from './message-bus.js';
import { GuardedClient } from '../database/guarded-client.js';
import { contextFrom, inSpan, SpanKind } from '../observability/tracing.js';
import { type PassLoop, type PassResult, WakeableLoop, type WakeableLoopOptions } from '../scheduling/wakeable-loop.js';
import { backoffMs, type MessagingOptions } from '../config/messaging-options.js';
import type { ClaimedDelivery, MadeDelivery, OutboxStore } from './outbox.store.js';

/**
 * What a deterministic test replaces in a relay; production takes the defaults.
 * - `random`: the jitter of retry back-offs (a seeded one replays a schedule);
 * - `loop`: what runs the passes (default a WakeableLoop: woken by commits,
 *   sleeping until the next due time); a test's loop runs them when it says.
 */
export interface RelaySchedule {
  readonly random?: () => number;
  readonly loop?: (pass: () => Promise<PassResult>, options: WakeableLoopOptions) => PassLoop;
}

/**
 * Delivers one module's outbox to its subscribers through the bus.
 * Woken right after a commit in this process (bus signal: every process that
 * writes a module's outbox hosts it and runs its relay), or by a NOTIFY (an
 * operator's replay); a slow poll only recovers what those missed.
 * Several relays may share the database: claims are leased with SKIP LOCKED,
 * to this relay by name (`holder`), and its bookkeeping changes only what it
 * still holds (ADR 20).
 */
export class OutboxRelay {
  private readonly logger: Logger;
  private readonly loop: PassLoop;
  private readonly random: () => number;
  private pruneTimer: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;
  private reconnecting = false;
  /** Attempts to LISTEN that failed since it last listened: the back-off's exponent. */
  private listenFailures = 0;
  private unsubscribe: (() => void) | undefined;
  /** Claimed deliveries not yet attempted: given back on a graceful stop. */
  private readonly waiting = new Set<ClaimedDelivery>();
  /** Events that commits in this process wrote since the last pass: claimed by key, without a scan. */
  private readonly committed = new Set<string>();
  /** More were committed than `committed` keeps: the next pass scans instead. */
  private overflowed = false;
  /** Deliveries made since the queue was last vacuumed, and when that was. */
  private deliveredSinceVacuum = 0;
  private lastVacuumAt = 0;
  /** The vacuum running, if one is: a stop waits for it rather than closing the pool under it. */
  private vacuum: Promise<void> | undefined;
  /** Names this relay's claims: a claim another relay took over after this one's lease ran out is no longer its to record. */
  private readonly holder = randomUUID();
  /** Deliveries whose lease this relay lost before recording them, since the last pass: the pass ends there. */
  private lost = 0;

  constructor(
    private readonly store: OutboxStore,
    private readonly bus: MessageBus,
    private readonly options: MessagingOptions,
    private readonly listenUrl: string | undefined,
    schedule: RelaySchedule = {},
  ) {
    this.logger = new Logger(`${store.module}.outbox`);
    this.random = schedule.random ?? Math.random;
    const loopOf = schedule.loop ?? ((pass, loopOptions) => new WakeableLoop(pass, loopOptions));
    this.loop = loopOf(() => this.pass(), {
      pollIntervalMs: options.pollIntervalMs,
      shutdownDeadlineMs: options.shutdownDeadlineMs,
      minPassIntervalMs: options.minPassIntervalMs,
      // Most likely the database is restarting: keep the process, try again on the next poll.
      onError: (error) => this.logger.warn(`delivery pass failed, retrying in ${options.pollIntervalMs} ms: ${(error as Error).message}`),
    });
  }

  private get stopping(): boolean {
    return this.loop.stopping;
  }

  async start(): Promise<void> {
    this.loop.start();
    this.unsubscribe = this.bus.onCommitted(this.store.module, (eventIds) => {
      for (const id of eventIds) {
        if (this.committed.size < this.options.batchSize) this.committed.add(id);
        else this.overflowed = true;
      }
      this.wake();
    });
    if (this.listenUrl) await this.listen(this.listenUrl);
    // prune() logs its own failures; the catch is for what it does not foresee (never an unhandled rejection).
    this.pruneTimer = setInterval(() => {
      this.prune().catch((error: unknown) => this.logger.error(`pruning failed: ${(error as Error)?.message ?? String(error)}`));
    }, this.options.pruneIntervalMs);
    this.pruneTimer.unref();
  }

  /** Runs a delivery pass now, or right after the one in progress. */
  wake(): void {
    this.loop.wake();
  }

  /** Stops taking work, lets deliveries in flight finish within the deadline, gives back the rest. */
  async stop(): Promise<void> {
    const stopped = this.loop.stop();
    clearInterval(this.pruneTimer);
    this.unsubscribe?.();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
    await stopped;
    await this.vacuum;
    const unattempted = [...this.waiting].map((d) => ({ eventId: d.envelope.id, subscriber: d.subscriber }));
    this.waiting.clear();
    await this.store.release(unattempted, this.holder).catch(() => {});
  }

  /**
   * Delivers everything due; answers when the next delivery falls due, and
   * whether deliveries were crowding in (then the next pass waits to gather more).
   * What commits here announced is claimed by key first: when that was all
   * there was, the pass is two statements (claim, mark delivered) and no scan.
   */
  private async pass(): Promise<PassResult> {
    this.lost = 0;
    let claimed = 0;
    if (this.committed.size > 0 && !this.overflowed) {
      const eventIds = [...this.committed];
      this.committed.clear();
      const batch = await this.store.claimEvents(eventIds, this.options.leaseMs, this.holder);
      claimed = batch.length;
      if (batch.length > 0) {
        const dueInMs = await this.deliverBatch(batch);
        if (this.lost > 0) return this.lostLease(claimed);
        // Nothing is due now that commits here did not announce (those come next, by key): done.
        // Under load that is every pass; a scan only for what no commit announced (a retry, the
        // next event of an aggregate just delivered, another process's replay).
        if (dueInMs !== 0 && !this.overflowed) return { dueInMs: dueInMs ?? undefined, crowded: claimed > 1 };
      }
    }
    // A poll, a replay, or more than the announced: scan the queue for everything due.
    this.committed.clear();
    this.overflowed = false;
    let dueInMs: number | undefined | null = null;
    while (!this.stopping) {
      const batch = await this.store.claim(this.options.batchSize, this.options.leaseMs, this.holder);
      if (batch.length === 0) break;
      claimed += batch.length;
      // A short batch was everything due when claimed: what came due since woke the loop, or
      // (the next events of the aggregates just delivered) is due now and the answer is 0.
      const full = batch.length === this.options.batchSize;
      dueInMs = await this.deliverBatch(batch, !full);
      if (this.lost > 0) return this.lostLease(claimed);
      if (!full) break;
    }
    if (this.stopping) return { dueInMs: undefined, crowded: claimed > 1 };
    return { dueInMs: dueInMs === null ? await this.store.nextDueInMs([...this.committed]) : dueInMs, crowded: claimed > 1 };
  }

  /**
   * A batch holds at most one delivery per (subscriber, aggregate), so all of it can go at once:
   * to a subscriber that takes batches (an inbox in this process), its share in one go; if that
   * fails, delivery by delivery, so that one bad event holds back only its aggregate.
   * Answers when the next delivery falls due (see `OutboxStore.markDelivered`), or null when not asked.
   */
  private async deliverBatch(batch: readonly ClaimedDelivery[], thenDueInMs = true): Promise<number | undefined | null> {
    for (const delivery of batch) this.waiting.add(delivery);
    const delivered: MadeDelivery[] = [];
    const single: ClaimedDelivery[] = [];
    const bySubscriber = new Map<string, ClaimedDelivery[]>();
    for (const delivery of batch) {
      // Only first attempts go in batches: a retry is likely to fail again, and alone it holds back nobody.
      if (delivery.attempts === 1 && this.bus.takesBatches(delivery.subscriber)) {
        bySubscriber.set(delivery.subscriber, [...(bySubscriber.get(delivery.subscriber) ?? []), delivery]);
      } else {
        single.push(delivery);
      }
    }
    await Promise.all(
      [...bySubscriber].map(async ([subscriber, deliveries]) => {
        if (deliveries.length === 1 || this.stopping) return single.push(...deliveries);
        for (const delivery of deliveries) this.waiting.delete(delivery);
        try {
          await inSpan(
            `${deliveries[0].envelope.name} deliver batch`,
            {
              kind: SpanKind.PRODUCER,
              parent: contextFrom(deliveries[0].envelope.headers),
              attributes: { module: this.store.module, 'messaging.consumer': subscriber, 'messaging.batch.message_count': deliveries.length },
            },
            () =>
              this.bus.deliverBatch(
                subscriber,
                deliveries.map((d) => d.envelope),
                deliveries.map((d) => d.claim),
              ),
          );
          for (const { envelope } of deliveries) delivered.push({ eventId: envelope.id, subscriber });
        } catch {
          for (const delivery of deliveries) this.waiting.add(delivery);
          single.push(...deliveries);
        }
      }),
    );
    await Promise.all(
      single.map(async (delivery) => {
        if (this.stopping) return; // left in `waiting`: released by stop()
        this.waiting.delete(delivery);
        try {
          const { envelope } = delivery;
          const sequence = await inSpan(
            `${envelope.name} deliver`,
            {
              kind: SpanKind.PRODUCER,
              parent: contextFrom(envelope.headers),
              attributes: {
                module: envelope.publisher,
                'messaging.destination.name': envelope.name,
                'messaging.consumer': delivery.subscriber,
                'event.id': envelope.id,
              },
            },
            () => this.bus.deliver(delivery.subscriber, envelope, delivery.previousSequence, delivery.claim),
          );
          delivered.push({
            eventId: delivery.envelope.id,
            subscriber: delivery.subscriber,
            ...(typeof sequence === 'number' ? { streamSequence: sequence } : {}),
          });
        } catch (error) {
          await this.failed(delivery, error);
        }
      }),
    );
    this.deliveredSinceVacuum += delivered.length;
    this.vacuumWhenDue();
    const marked = await this.store.markDelivered(delivered, this.holder, thenDueInMs ? { announced: [...this.committed] } : undefined);
    this.lost += marked.lost;
    return thenDueInMs ? marked.dueInMs : null;
  }

  /**
   * Some of this pass's claims were taken over by another relay while this
   * one delivered them (its lease ran out: a pause, a slow subscriber): their
   * bookkeeping is that relay's, and what it recorded stands. The pass ends
   * here, and says so; the next one starts afresh (a poll, or a wake-up).
   */
  private lostLease(claimed: number): PassResult {
    this.logger.warn(
      `lost the lease of ${this.lost} delivery(ies) to another relay (held longer than ${this.options.leaseMs} ms): ` +
        'left their bookkeeping to it and ended this pass',
    );
    return { dueInMs: undefined, crowded: claimed > 1 };
  }

  /**
   * Vacuums the queue after every `queueVacuumEvery` deliveries this relay made,
   * at most every `queueVacuumIntervalMs`, beside the passes (see
   * `OutboxStore.vacuumQueue`): a few ms each time, against reading the dead
   * rows in every claim until the server's autovacuum comes round.
   */
  private vacuumWhenDue(): void {
    const now = performance.now();
    const { queueVacuumEvery, queueVacuumIntervalMs } = this.options;
    if (this.vacuum || this.stopping || this.deliveredSinceVacuum < queueVacuumEvery || now - this.lastVacuumAt < queueVacuumIntervalMs) return;
    this.deliveredSinceVacuum = 0;
    this.lastVacuumAt = now;
    this.vacuum = this.store
      .vacuumQueue()
      .catch((error: unknown) => this.logger.warn(`vacuuming the delivery queue failed: ${(error as Error).message}`))
      .finally(() => (this.vacuum = undefined));
  }

  private async failed(delivery: ClaimedDelivery, error: unknown): Promise<void> {
    const { envelope, subscriber, attempts } = delivery;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const poison = error instanceof PoisonMessageError;
    const unreachable = error instanceof NoRouteError;
    if (poison || (!unreachable && attempts >= this.options.maxAttempts)) {
      if (!(await this.store.markFailed(envelope.id, subscriber, this.holder, message, undefined))) {
        this.lost += 1;
        return;
      }
      this.logger.error(
        `dead letter: ${envelope.name} ${envelope.id} (aggregate ${envelope.aggregateId}) for ${subscriber} ` +
          `after ${attempts} attempt(s): ${message}; replay with: npm run outbox -- replay ${this.store.module} ${envelope.id}`,
      );
      return;
    }
    const retryIn = backoffMs(this.options, attempts, this.random);
    if (!(await this.store.markFailed(envelope.id, subscriber, this.holder, message, retryIn, !unreachable))) {
      this.lost += 1;
      return;
    }
    const log = unreachable ? 'debug' : 'warn';
    this.logger[log](`${envelope.name} ${envelope.id} for ${subscriber} failed (attempt ${attempts}), retry in ${retryIn} ms: ${message}`);
  }

  /**
   * LISTENs on a connection of its own. Lost (a restart, a terminated backend), it is opened
   * again with back-off, and a pass runs once it listens: the NOTIFYs sent meanwhile are lost.
   */
  private async listen(url: string): Promise<void> {
    // A GuardedClient: its loss is logged once and never crashes the process; here it only means "listen again".
    const client = new GuardedClient({ connectionString: url, application_name: `monolith-first:${this.store.module}:relay` });
    client.on('notification', () => this.wake());
    client.on('error', () => this.relisten(url, client));
    client.on('end', () => this.relisten(url, client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.store.channel}`);
    } catch (error) {
      await client.end().catch(() => {});
      if (this.listenFailures === 0) {
        this.logger.warn(`cannot LISTEN yet (${(error as Error).message}); relying on the poll until it can`);
      }
      this.listenFailures++;
      this.relisten(url, client);
      return;
    }
    if (this.stopping) {
      await client.end().catch(() => {});
      return;
    }
    this.listener = client;
    if (this.listenFailures > 0) this.logger.log(`listening again after ${this.listenFailures} failed attempt(s)`);
    this.listenFailures = 0;
    this.wake();
  }

  private relisten(url: string, lost: pg.Client): void {
    if (this.stopping || this.reconnecting || (this.listener !== lost && this.listener !== undefined)) return;
    this.listener = undefined;
    this.reconnecting = true;
    // Soon after a blip, at most a poll interval apart while the server stays away (the poll covers meanwhile).
    const delay = Math.min(this.options.pollIntervalMs, 100 * 2 ** Math.min(this.listenFailures, 10));
    const retry = setTimeout(() => {
      this.reconnecting = false;
      if (!this.stopping && !this.listener) {
        this.listen(url).catch((error: unknown) => this.logger.warn(`LISTEN again failed: ${(error as Error)?.message ?? String(error)}; relying on the poll`));
      }
    }, delay);
    retry.unref();
  }

  private async prune(): Promise<void> {
    try {
      const pruned = await this.store.prune(this.options.retentionMs);
      if (pruned.events + pruned.inbox > 0) {
        this.logger.log(`pruned ${pruned.events} delivered event(s) and ${pruned.inbox} inbox record(s)`);
      }
    } catch (error) {
      this.logger.warn(`pruning failed: ${(error as Error).message}`);
    }
  }
}
