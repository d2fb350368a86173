import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A consumer's backlog as the stream sees it (for metrics and health). */
export interface ConsumerStats {
  readonly consumer: string;
  readonly publisher: string;
  /** Events in the stream the consumer has not been handed yet. */
  readonly pending: number;
  /** Handed out, not yet acknowledged. */
  readonly unacknowledged: number;
  /** Handed out more than once and not yet acknowledged. */
  readonly redelivered: number;
}

/**
 * This process's Prometheus metrics (prom-client), one registry per
 * application so that several stores in one process (tests) never collide.
 * The platform records HTTP, module calls and the outbox; modules may add
 * their own through `counter` and `gauge`.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly moduleCallDuration: Histogram<'module' | 'operation' | 'binding' | 'outcome'>;

  constructor(options: {
    defaultMetrics: boolean;
    outboxStats?: () => Promise<Record<string, { pending: number; oldestPendingAgeMs: number; dead: number }>>;
    consumerStats?: () => Promise<readonly ConsumerStats[]>;
  }) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.moduleCallDuration = new Histogram({
      name: 'module_call_duration_seconds',
      help: 'Calls through module contracts, by binding (local or remote) and outcome (ok or the error code)',
      labelNames: ['module', 'operation', 'binding', 'outcome'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [this.registry],
    });
    const stats = options.outboxStats;
    if (stats) {
      // Read from the outbox tables at scrape time: the truth, shared by every instance.
      const gauge = (name: string, help: string, pick: (s: { pending: number; oldestPendingAgeMs: number; dead: number }) => number) =>
        new Gauge({
          name,
          help,
          labelNames: ['module'],
          registers: [this.registry],
          async collect() {
            for (const [module, value] of Object.entries(await stats().catch(() => ({})))) this.set({ module }, pick(value));
          },
        });
      gauge('outbox_pending_deliveries', 'Event deliveries not yet made, per publishing module', (s) => s.pending);
      gauge('outbox_oldest_pending_age_seconds', 'Age of the oldest undelivered event, per publishing module', (s) => s.oldestPendingAgeMs / 1000);
      gauge('outbox_dead_letters', 'Dead-lettered deliveries, per publishing module', (s) => s.dead);
    }
    const consumers = options.consumerStats;
    if (consumers) {
      // Asked of the stream at scrape time: every replica of a subscriber reports its one shared consumer.
      const gauge = (name: string, help: string, pick: (s: ConsumerStats) => number) =>
        new Gauge({
          name,
          help,
          labelNames: ['consumer', 'publisher'],
          registers: [this.registry],
          async collect() {
            for (const stats of await consumers().catch(() => [])) this.set({ consumer: stats.consumer, publisher: stats.publisher }, pick(stats));
          },
        });
      gauge('event_consumer_pending', 'Events in the stream a subscriber has not been handed yet (its lag)', (s) => s.pending);
      gauge('event_consumer_unacknowledged', 'Events handed to a subscriber and not yet acknowledged', (s) => s.unacknowledged);
      gauge('event_consumer_redelivered', 'Events handed to a subscriber more than once and not yet acknowledged', (s) => s.redelivered);
    }
  }

  /** A counter of a module's own (e.g. saga outcomes); asking twice for one name answers the same counter. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Counter<L>;
    return new Counter({ name, help, labelNames: [...labelNames], registers: [this.registry] });
  }

  /** A gauge of a module's own, read at scrape time from `read`; asking twice for one name answers the same gauge. */
  gauge(name: string, help: string, read: () => number): Gauge {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Gauge;
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }
}
