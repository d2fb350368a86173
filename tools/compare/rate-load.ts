import pg from 'pg';
import { delta, remoteCallsByModule, scrape } from './metrics-scrape.js';
import { openLoop } from './open-loop.js';
import { type MachineStats, type ProcessStats, ProcessSampler, type ProcessTarget } from './process-stats.js';
import { type Histogram, histogram, type Percentiles, percentiles, round } from './stats.js';

/**
 * One point of the latency-versus-load curve: `rate` new orders per second
 * for `durationS`, open loop (open-loop.ts), each order followed until it is
 * terminal. Measured: the POST's response time and POST -> terminal as the
 * client sees it (both from the moment the request was due), whether the
 * store kept up (terminal orders per second over the sending window), CPU of
 * every process, the remote calls per module called, and the notifications'
 * lag behind the order's status change (SQL: notifications.created_at -
 * orders.updated_at of the same order).
 */
export interface RatePointOptions {
  readonly baseUrl: string;
  readonly adminUrl: string;
  readonly rate: number;
  readonly durationS: number;
  readonly sku: string;
  /** The customer of this point's orders (each point its own, to read its orders and notifications back). */
  readonly customer: string;
  readonly processes: readonly ProcessTarget[];
  readonly postmaster: number | undefined;
  readonly metricsPorts: readonly (number | string)[];
  readonly pollMs: number;
  /** The waiting client: every POST says `Prefer: wait=N` and the 201's arrival is the order's end (open-loop.ts). */
  readonly preferWaitS?: number;
  readonly onTick: (text: string) => void;
}

export interface RatePoint {
  readonly offeredPerSecond: number;
  readonly durationS: number;
  readonly sent: number;
  readonly accepted: number;
  /** Non-2xx answers by status ("0": network error or timeout). */
  readonly rejected: Readonly<Record<string, number>>;
  /** Orders seen terminal by the client / over the sending time: below the offered rate, the store did not keep up. */
  readonly completedPerSecond: number;
  readonly confirmed: number;
  /** Accepted orders not seen terminal within 30 s of their POST. */
  readonly notTerminal: number;
  /** The offered rate was sustained: every POST accepted, every order terminal, completions within 5% of the offer. */
  readonly sustained: boolean;
  readonly postMs: Percentiles;
  /** POST due -> terminal status read by the client. */
  readonly terminalMs: Percentiles;
  readonly terminalHistogram: Histogram;
  /** orders.updated_at -> notifications.created_at (ms), of this point's terminal orders. */
  readonly notificationLagMs: Percentiles | null;
  /** The generator's own lateness, ms (event-loop lag): large values make the point unreliable. */
  readonly generatorLateMs: { readonly p99: number; readonly max: number };
  readonly pollsPerOrder: number;
  /** `Prefer: wait=N` on every POST (the waiting client), else null (the polling client). */
  readonly preferWaitS: number | null;
  /** Accepted orders whose POST answer was already terminal (the waiting client's 201s); the others were polled. */
  readonly terminalInAnswer: number;
  readonly processes: readonly ProcessStats[];
  readonly machine: MachineStats | null;
  /** Module called remotely -> calls and their mean time, ms (all callers). */
  readonly remoteByModule: Readonly<Record<string, { readonly calls: number; readonly meanMs: number }>>;
}

export async function runRatePoint(options: RatePointOptions): Promise<RatePoint> {
  const body = JSON.stringify({
    customerId: options.customer,
    items: [{ sku: options.sku, quantity: 1 }],
    paymentToken: 'tok_visa',
    shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
  });
  const before = await Promise.all(options.metricsPorts.map(scrape));
  const sampler = new ProcessSampler(options.processes, options.postmaster);
  sampler.start();
  const run = await openLoop({
    baseUrl: options.baseUrl,
    rate: options.rate,
    durationS: options.durationS,
    body: () => body,
    follow: true,
    pollMs: options.pollMs,
    ...(options.preferWaitS === undefined ? {} : { preferWaitS: options.preferWaitS }),
    terminalTimeoutMs: 30_000,
    onTick: options.onTick,
  });
  const { processes, machine } = sampler.stop();
  const after = await Promise.all(options.metricsPorts.map(scrape));
  const accepted = run.samples.filter((s) => s.status >= 200 && s.status < 300);
  const terminal = accepted.filter((s) => s.terminalAt !== undefined);
  const rejected: Record<string, number> = {};
  for (const s of run.samples) if (!(s.status >= 200 && s.status < 300)) rejected[s.status] = (rejected[s.status] ?? 0) + 1;
  // Terminal orders over the sending window: the queue a store builds shows as completions falling behind.
  const windowS = options.durationS;
  const inWindow = terminal.filter((s) => s.terminalAt! - run.startedAt <= windowS * 1000 + 1000).length;
  const completedPerSecond = round(inWindow / windowS);
  const lag = await notificationLag(options.adminUrl, options.customer);
  const notTerminal = accepted.length - terminal.length;
  return {
    offeredPerSecond: options.rate,
    durationS: options.durationS,
    sent: run.samples.length,
    accepted: accepted.length,
    rejected,
    completedPerSecond,
    confirmed: terminal.filter((s) => s.terminalStatus === 'CONFIRMED').length,
    notTerminal,
    sustained: accepted.length === run.samples.length && notTerminal === 0 && inWindow >= 0.95 * run.samples.length,
    postMs: percentiles(run.samples.map((s) => s.answeredAt - s.dueAt)),
    terminalMs: percentiles(terminal.map((s) => s.terminalAt! - s.dueAt)),
    terminalHistogram: histogram(terminal.map((s) => s.terminalAt! - s.dueAt)),
    notificationLagMs: lag,
    generatorLateMs: run.lateMs,
    pollsPerOrder: round(run.polls / Math.max(1, accepted.length)),
    preferWaitS: options.preferWaitS ?? null,
    terminalInAnswer: accepted.filter((s) => s.terminalInAnswer).length,
    processes,
    machine,
    remoteByModule: remoteCallsByModule(delta(before, after)),
  };
}

/** Lag of each order's notification behind its status change; null when the database has no notifications (the baseline). */
export async function notificationLag(adminUrl: string, customer: string, waitMs = 10_000): Promise<Percentiles | null> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const {
      rows: [exists],
    } = await client.query<{ found: boolean }>(`SELECT to_regclass('notifications.notifications') IS NOT NULL AS found`);
    if (!exists.found) return null;
    // The notifications follow by an event: wait (a little) until each terminal order of the point has one.
    const deadline = performance.now() + waitMs;
    for (;;) {
      const {
        rows: [missing],
      } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM orders.orders o WHERE o.customer_id = $1 AND o.status IN ('CONFIRMED', 'CANCELLED')
            AND NOT EXISTS (SELECT 1 FROM notifications.notifications n WHERE n.order_id = o.id)`,
        [customer],
      );
      if (missing.n === 0 || performance.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { rows } = await client.query<{ ms: number }>(
      `SELECT extract(epoch FROM n.created_at - o.updated_at) * 1000 AS ms
         FROM orders.orders o JOIN notifications.notifications n ON n.order_id = o.id
        WHERE o.customer_id = $1 AND o.status IN ('CONFIRMED', 'CANCELLED')`,
      [customer],
    );
    return percentiles(rows.map((r) => Number(r.ms)));
  } finally {
    await client.end();
  }
}
