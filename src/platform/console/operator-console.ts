import type { DataSource } from 'typeorm';
import type { ModuleProbe } from '../health/module-health.js';
import type { ConsumerStats, Metrics } from '../observability/metrics.js';
import type { DiscoveredModule } from '../modules/module-definition.js';
import { ModuleOperations } from '../operations/module-operations.js';
import {
  type ModuleOverview,
  type OperatorOutcome,
  type OperatorRequest,
  OperatorRequestError,
  performOperatorRequest,
} from '../operations/operator-requests.js';
import { withTimeout } from '../scheduling/with-timeout.js';
import { type ProcessInstance, type Transport, TransportError } from '../transport/transport.js';

/** How long one module's data or a probe may take before the console shows it as unreadable. */
const READ_TIMEOUT_MS = 2_000;
/** How long a roll call waits for replicas to answer. */
const ROLL_CALL_MS = 250;

/** Where the console's data comes from in this process (the composition root hands it over). */
export interface ConsoleSources {
  readonly modules: readonly DiscoveredModule[];
  readonly hosted: readonly string[];
  readonly database: (module: string) => DataSource;
  readonly consumerStats: () => Promise<readonly ConsumerStats[]>;
  readonly probes: ReadonlyMap<string, ModuleProbe>;
  readonly transport: Transport | undefined;
  readonly metrics: Metrics;
  readonly instance: ProcessInstance;
}

/** One module on the map: where it runs, its replicas, and its edges. */
export interface ModuleNode {
  readonly name: string;
  readonly location: 'local' | 'remote';
  readonly status: 'up' | 'down';
  /** Processes that answered a roll call; null when it cannot be taken (no NATS: one process). */
  readonly instances: readonly ProcessInstance[] | null;
  readonly calls: readonly string[];
  readonly events: ReadonlyArray<{ readonly publisher: string; readonly subscription: string; readonly events: readonly string[] }>;
}

export interface ConsoleOverview {
  readonly at: string;
  readonly process: ProcessInstance;
  readonly modules: readonly ModuleNode[];
  /** Each module's sagas, outbox and consumers, or why they could not be read. */
  readonly operations: Readonly<Record<string, ModuleOverview | { readonly error: string }>>;
  readonly metrics: ConsoleMetrics;
}

/** Cumulative counters of this process; the page turns two readings into rates and percentiles. */
export interface ConsoleMetrics {
  readonly routes: ReadonlyArray<{
    readonly method: string;
    readonly route: string;
    readonly count: number;
    /** Answered 429 or 503, or refused at the door before any work (ADR 16). */
    readonly refused: number;
    /** Cumulative histogram of the answers that were not refusals: [upper bound in seconds, count]. */
    readonly buckets: ReadonlyArray<readonly [number, number]>;
  }>;
  readonly sagas: ReadonlyArray<{ readonly saga: string; readonly ended: number; readonly refused: number }>;
}

/** A request the console could not carry out, with the HTTP status it answers. */
export class ConsoleError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What the operator console shows and does, in any topology: a module hosted
 * here is read from its database through ModuleOperations (as the CLIs do);
 * one hosted elsewhere is asked over the transport, and its process answers
 * through the same code with its own database role (ADR 40). The gateway never
 * needs another module's database.
 */
export class OperatorConsole {
  private readonly byName: ReadonlyMap<string, DiscoveredModule>;

  constructor(private readonly sources: ConsoleSources) {
    this.byName = new Map(sources.modules.map((module) => [module.definition.name, module]));
  }

  /** `watch`: sagas an operator follows, by module (those they acted on), read by key. */
  async overview(watch: ReadonlyMap<string, ReadonlyArray<{ saga: string; key: string }>> = new Map()): Promise<ConsoleOverview> {
    const names = [...this.byName.keys()];
    const [modules, operations] = await Promise.all([
      Promise.all(names.map((name) => this.node(name))),
      Promise.all(
        names.map(async (name) => {
          try {
            const watched = watch.get(name);
            return [name, (await this.ask(name, watched?.length ? { op: 'overview', watch: watched } : { op: 'overview' })) as ModuleOverview] as const;
          } catch (error) {
            return [name, { error: (error as Error).message }] as const;
          }
        }),
      ),
    ]);
    return {
      at: new Date().toISOString(),
      process: this.sources.instance,
      modules,
      operations: Object.fromEntries<ModuleOverview | { readonly error: string }>(operations),
      metrics: await this.readMetrics(),
    };
  }

  /** Carries out a validated request on a module; throws ConsoleError with the status to answer. */
  async act(module: string, request: OperatorRequest): Promise<OperatorOutcome> {
    if (!this.byName.has(module)) throw new ConsoleError(404, `no module '${module}'`);
    if (request.op === 'overview') return { module, affected: 0, message: 'nothing done' };
    return (await this.ask(module, request)) as OperatorOutcome;
  }

  private async ask(module: string, request: OperatorRequest): Promise<ModuleOverview | OperatorOutcome> {
    const { hosted, transport } = this.sources;
    if (hosted.includes(module)) {
      try {
        return await withTimeout(
          performOperatorRequest(new ModuleOperations(this.sources.database(module), module), request, this.sources.consumerStats),
          READ_TIMEOUT_MS * (request.op === 'overview' ? 1 : 5),
        );
      } catch (error) {
        if (error instanceof OperatorRequestError) throw new ConsoleError(error.code === 'INVALID' ? 400 : 404, error.message);
        throw new ConsoleError(503, `${module}: ${(error as Error).message}`);
      }
    }
    if (!transport?.operate) throw new ConsoleError(503, `${module}: runs in another process, and this one has no transport to ask it`);
    let reply;
    try {
      reply = await transport.operate(module, request, READ_TIMEOUT_MS * (request.op === 'overview' ? 1 : 5));
    } catch (error) {
      throw new ConsoleError(503, error instanceof TransportError ? `${module}: ${error.message}` : `${module}: no answer`);
    }
    if (reply.ok) return reply.result as ModuleOverview | OperatorOutcome;
    const status = reply.error.code === 'INVALID' ? 400 : reply.error.code === 'NOT_FOUND' ? 404 : 503;
    throw new ConsoleError(status, reply.error.message);
  }

  private async node(name: string): Promise<ModuleNode> {
    const { definition, manifest } = this.byName.get(name)!;
    const probe = this.sources.probes.get(name);
    const transport = this.sources.transport;
    const [up, instances] = await Promise.all([
      probe ? withTimeout(probe.isUp(), READ_TIMEOUT_MS).catch(() => false) : Promise.resolve(false),
      transport?.instances ? transport.instances(name, ROLL_CALL_MS) : Promise.resolve(null),
    ]);
    return {
      name,
      location: probe?.location ?? 'remote',
      status: up ? 'up' : 'down',
      instances: instances && [...instances].sort((a, b) => a.instance.localeCompare(b.instance)),
      calls: manifest.calls,
      events: (definition.subscriptions ?? []).map((subscription) => ({
        publisher: subscription.publisher,
        subscription: subscription.name,
        events: subscription.events.map((event) => event.name),
      })),
    };
  }

  private async readMetrics(): Promise<ConsoleMetrics> {
    const metrics = await this.sources.metrics.registry.getMetricsAsJSON();
    const byName = new Map(
      metrics.map((metric) => [metric.name, metric.values as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>]),
    );
    const routes = new Map<string, { method: string; route: string; count: number; refused: number; buckets: Map<number, number> }>();
    const routeOf = (method: string, route: string) => {
      const id = `${method} ${route}`;
      let entry = routes.get(id);
      if (!entry) routes.set(id, (entry = { method, route, count: 0, refused: 0, buckets: new Map() }));
      return entry;
    };
    for (const value of byName.get('http_request_duration_seconds') ?? []) {
      const { method, route, status, le } = value.labels;
      // The console's own polling is not traffic of the store.
      if (String(route).startsWith('/console') || route === 'unmatched') continue;
      const entry = routeOf(String(method), String(route));
      const refusal = status === '429' || status === '503';
      if (value.metricName?.endsWith('_count')) {
        entry.count += value.value;
        if (refusal) entry.refused += value.value;
      } else if (value.metricName?.endsWith('_bucket') && !refusal) {
        const bound = le === '+Inf' ? Infinity : Number(le);
        entry.buckets.set(bound, (entry.buckets.get(bound) ?? 0) + value.value);
      }
    }
    for (const value of byName.get('http_requests_refused_early_total') ?? []) {
      const entry = routeOf(String(value.labels.method), String(value.labels.route));
      entry.count += value.value;
      entry.refused += value.value;
    }
    const sagas = new Map<string, { saga: string; ended: number; refused: number }>();
    const sagaOf = (saga: string) => sagas.get(saga) ?? sagas.set(saga, { saga, ended: 0, refused: 0 }).get(saga)!;
    for (const value of byName.get('saga_outcomes_total') ?? []) sagaOf(String(value.labels.saga)).ended += value.value;
    for (const value of byName.get('saga_admission_refused_total') ?? []) sagaOf(String(value.labels.saga)).refused += value.value;
    return {
      routes: [...routes.values()].map((entry) => ({
        method: entry.method,
        route: entry.route,
        count: entry.count,
        refused: entry.refused,
        // JSON has no Infinity: the last bucket's bound is sent as null.
        buckets: [...entry.buckets]
          .sort((a, b) => a[0] - b[0])
          .map(([bound, count]) => [Number.isFinite(bound) ? bound : (null as unknown as number), count] as const),
      })),
      sagas: [...sagas.values()],
    };
  }
}
