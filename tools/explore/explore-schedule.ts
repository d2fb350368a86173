import { prng } from '../support/stats.js';

/**
 * A fault schedule: everything a run of the explorer does that is not a
 * consequence of the store's answers, drawn from one seed. The same seed, the
 * same topology and the same load length give the same schedule (faults,
 * targets, times relative to the load's start, workload mix), so a failure
 * found once replays with `--seed N`. Pure: no clock, no I/O.
 */
export const FAULT_KINDS = [
  'sigkill',
  'sigstop',
  'postgres-restart',
  'nats-restart',
  'link-slow',
  'link-partition',
  'subscriber-fails',
  'table-locked',
  'deadline-outage',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number] | 'planted';

export interface FaultEvent {
  /** 1, 2, ... in the order of `atMs`. */
  readonly id: number;
  readonly kind: FaultKind;
  /** A process name of the topology, `postgres`, `nats`, `link:<process>` or a subscriber's table. */
  readonly target: string;
  /** From the start of the load. */
  readonly atMs: number;
  /** How long the fault lasts before the schedule heals it (restart, SIGCONT, heal, unlock). */
  readonly durationMs: number;
  /** link-slow: the added delay each way. */
  readonly delayMs?: number;
  /** deadline-outage: the process is SIGKILLed (restarted after the outage) or SIGSTOPped (continued). */
  readonly signal?: 'SIGKILL' | 'SIGSTOP';
}

/** The share of each request kind; `cancel` is a customer cancellation of an earlier accepted order. */
export interface WorkloadMix {
  readonly confirmable: number;
  readonly declined: number;
  readonly outOfStock: number;
  readonly shippingUnavailable: number;
  readonly cancel: number;
}

export interface Schedule {
  readonly seed: number;
  readonly topology: string;
  readonly processes: readonly string[];
  readonly loadMs: number;
  /** Requests per second the workload sends (a new request every 1/rate s, whatever the answers). */
  readonly rate: number;
  readonly mix: WorkloadMix;
  /** CHECKOUT_DEADLINE_MS for this run: short when a deadline-outage is scheduled, else the default. */
  readonly checkoutDeadlineMs: number | undefined;
  readonly faults: readonly FaultEvent[];
}

export interface ScheduleInput {
  readonly seed: number;
  readonly topology: string;
  /** The topology's processes, by plan name (e.g. "orders", "gateway", "monolith#1"). */
  readonly processes: readonly string[];
  /** Whether the processes reach each other over NATS (not in a monolith): link and NATS faults apply. */
  readonly usesNats: boolean;
  readonly loadMs: number;
  /** Subscribers' tables a `subscriber-fails` or `table-locked` fault may target. */
  readonly subscriberTables: readonly string[];
  /** A test-only planted violation, at 60% of the load (the explorer must report it). */
  readonly plant?: boolean;
}

/** The processes that host the orders module (whose sagas a deadline outage starves). */
function ordersHosts(processes: readonly string[]): string[] {
  return processes.filter((p) => p.startsWith('monolith') || /(^|\+)orders(\+|#|$)/.test(p));
}

export function generateSchedule(input: ScheduleInput): Schedule {
  if (!Number.isSafeInteger(input.seed) || input.seed < 0) throw new Error(`seed must be a non-negative integer, got ${input.seed}`);
  const random = prng(input.seed);
  const int = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

  const kinds = FAULT_KINDS.filter((kind) => input.usesNats || !['nats-restart', 'link-slow', 'link-partition'].includes(kind));
  const count = int(2, 4);
  const drawn: FaultKind[] = Array.from({ length: count }, () => pick(kinds));
  const deadlineOutage = drawn.includes('deadline-outage');
  const checkoutDeadlineMs = deadlineOutage ? int(2, 4) * 1_000 : undefined;

  // Each target faulted at most once at a time: a second fault on a process already stopped says nothing new.
  const busy = new Map<string, Array<[number, number]>>();
  const free = (target: string, from: number, to: number) => !(busy.get(target) ?? []).some(([a, b]) => from < b + 1_000 && a < to + 1_000);
  const faults: Array<Omit<FaultEvent, 'id'>> = [];
  for (const kind of drawn) {
    for (let attempt = 0; attempt < 8; attempt++) {
      const event = draw(kind);
      if (!event) break;
      if (!free(event.target, event.atMs, event.atMs + event.durationMs)) continue;
      busy.set(event.target, [...(busy.get(event.target) ?? []), [event.atMs, event.atMs + event.durationMs]]);
      faults.push(event);
      break;
    }
  }
  if (input.plant) faults.push({ kind: 'planted', target: 'orders.orders', atMs: Math.round(input.loadMs * 0.6), durationMs: 0 });

  function draw(kind: FaultKind): Omit<FaultEvent, 'id'> | undefined {
    // Faults begin in the first 70% of the load, so the load sees each one heal.
    const atMs = int(Math.round(input.loadMs * 0.1), Math.round(input.loadMs * 0.7));
    const span = (low: number, high: number) => int(low, high) * 100;
    switch (kind) {
      case 'sigkill':
        return { kind, target: pick(input.processes), atMs, durationMs: span(5, 40) };
      case 'sigstop':
        return { kind, target: pick(input.processes), atMs, durationMs: span(10, 60) };
      case 'postgres-restart':
        return { kind, target: 'postgres', atMs, durationMs: span(10, 50) };
      case 'nats-restart':
        return { kind, target: 'nats', atMs, durationMs: span(5, 40) };
      case 'link-slow':
        return { kind, target: `link:${pick(input.processes)}`, atMs, durationMs: span(20, 60), delayMs: int(1, 8) * 50 };
      case 'link-partition':
        return { kind, target: `link:${pick(input.processes)}`, atMs, durationMs: span(10, 60) };
      case 'subscriber-fails':
      case 'table-locked':
        if (input.subscriberTables.length === 0) return undefined;
        return { kind, target: pick(input.subscriberTables), atMs, durationMs: span(20, 80) };
      case 'deadline-outage': {
        // The orders process (or a module it calls) away for longer than a checkout's deadline.
        const hosts = ordersHosts(input.processes);
        const target = random() < 0.6 && hosts.length > 0 ? pick(hosts) : pick(input.processes);
        const signal = random() < 0.5 ? 'SIGKILL' : 'SIGSTOP';
        return { kind, target, atMs, durationMs: checkoutDeadlineMs! + span(10, 40), signal };
      }
      default:
        return undefined;
    }
  }

  // The mix: mostly confirmable checkouts, every other path a few percent each.
  const declined = int(5, 12);
  const outOfStock = int(4, 10);
  const shippingUnavailable = int(3, 8);
  const cancel = int(6, 15);
  return {
    seed: input.seed,
    topology: input.topology,
    processes: [...input.processes],
    loadMs: input.loadMs,
    rate: int(10, 25),
    mix: {
      confirmable: 100 - declined - outOfStock - shippingUnavailable - cancel,
      declined,
      outOfStock,
      shippingUnavailable,
      cancel,
    },
    checkoutDeadlineMs,
    faults: faults.sort((a, b) => a.atMs - b.atMs).map((event, index) => ({ id: index + 1, ...event })),
  };
}

/** The schedule as printed before it runs (and in a failure's report). */
export function formatSchedule(schedule: Schedule): string {
  const m = schedule.mix;
  const lines = [
    `seed ${schedule.seed}, topology ${schedule.topology} (${schedule.processes.join(', ')}), load ${schedule.loadMs} ms at ${schedule.rate}/s`,
    `  mix: ${m.confirmable}% confirmable, ${m.declined}% declined, ${m.outOfStock}% out of stock, ${m.shippingUnavailable}% shipping unavailable, ${m.cancel}% cancellations` +
      (schedule.checkoutDeadlineMs ? `; CHECKOUT_DEADLINE_MS=${schedule.checkoutDeadlineMs}` : ''),
  ];
  for (const f of schedule.faults) {
    const extra = (f.delayMs ? ` +${f.delayMs} ms each way` : '') + (f.signal ? ` (${f.signal})` : '');
    lines.push(`  #${f.id} at ${(f.atMs / 1000).toFixed(1)} s: ${f.kind} ${f.target} for ${(f.durationMs / 1000).toFixed(1)} s${extra}`);
  }
  return lines.join('\n');
}
