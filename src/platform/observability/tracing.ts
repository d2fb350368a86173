import {
  type Attributes,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  context,
  type Context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, type Sampler, TraceIdRatioBasedSampler, AlwaysOnSampler, TracerProvider } from '@opentelemetry/sdk-trace';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * OpenTelemetry for this process, configured by the standard OTEL_* variables:
 * on when an OTLP endpoint is given (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and OTEL_SDK_DISABLED is not true;
 * OTEL_EXPORTER_OTLP_PROTOCOL http/json or http/protobuf (default);
 * OTEL_SERVICE_NAME; OTEL_TRACES_SAMPLER_ARG as a ratio. Off, the API is a
 * no-op: spans cost an object allocation, nothing is exported.
 *
 * NestJS 12 has no OpenTelemetry instrumentation, so the platform makes its
 * own spans where work crosses a boundary: HTTP, module calls, NATS hops,
 * event publication and handling, saga steps; pg spans come from
 * @opentelemetry/instrumentation-pg.
 */
export interface Tracing {
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

let installed: (Tracing & { provider?: TracerProvider }) | undefined;

/** Off, spans are skipped outright rather than made as no-ops: the hot paths pay nothing. */
let enabled = false;
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export function startTracing(env: Env, serviceName: string): Tracing {
  // One provider per process: several stores in one test process share it.
  if (installed) return installed;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const disabled = env.OTEL_SDK_DISABLED?.toLowerCase() === 'true' || env.OTEL_TRACES_EXPORTER === 'none';
  if (!endpoint || disabled) {
    installed = { enabled: false, shutdown: async () => {} };
    return installed;
  }
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${endpoint.replace(/\/$/, '')}/v1/traces`;
  const exporter = protocol === 'http/json' ? new OtlpHttpJsonExporter({ url }) : new OtlpProtobufExporter({ url });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? serviceName }),
    sampler: sampler(env),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 200 })],
  });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  registerInstrumentations({ tracerProvider: provider, instrumentations: [new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true })] });
  enabled = true;
  installed = {
    enabled: true,
    provider,
    shutdown: async () => {
      await provider.forceFlush().catch(() => {});
    },
  };
  return installed;
}

function sampler(env: Env): Sampler {
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  const root = Number.isFinite(ratio) && ratio < 1 ? new TraceIdRatioBasedSampler(Math.max(0, ratio)) : new AlwaysOnSampler();
  return new ParentBasedSampler({ root });
}

let cachedTracer: Tracer | undefined;

/** This process's tracer (looked up once: the provider is set once, at start-up, before any span). */
export function tracer(): Tracer {
  return (cachedTracer ??= trace.getTracer('monolith-first'));
}

/** Runs `work` in a new span (child of the current one, or of `parent`), ending it and recording failure. */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; parent?: Context },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  if (!enabled) return work(NO_SPAN);
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  return endedAfter(span, () => context.with(trace.setSpan(parent, span), () => work(span)));
}

/**
 * A CLIENT span for one database statement the platform runs itself (see
 * queryPrepared), child of the current span; none outside a trace. `describe`
 * is only called for a span that is made: with tracing off, nothing is built. `run` runs with no active span,
 * so the pg instrumentation, which traces every other query, skips this one
 * instead of tracing it twice: its wrapping of each query and callback was,
 * measured, most of what tracing cost a checkout.
 */
export async function inClientSpan<T>(describe: () => { name: string; attributes: Attributes }, run: () => Promise<T>): Promise<T> {
  // Like the pg instrumentation (requireParentSpan): background polls start no traces of their own.
  if (!enabled || trace.getSpan(context.active()) === undefined) return run();
  const { name, attributes } = describe();
  const span = tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes });
  return endedAfter(span, () => context.with(ROOT_CONTEXT, run));
}

/** `span`, ended when `run` settles, with the failure recorded if it fails. */
async function endedAfter<T>(span: Span, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
    throw error;
  } finally {
    span.end();
  }
}

/** A (momentary) PRODUCER span for an event written to an outbox; answers the headers that continue it. */
export function publicationTraceHeaders(module: string, event: string): Record<string, string> {
  if (!enabled) return {};
  const span = tracer().startSpan(`${event} publish`, {
    kind: SpanKind.PRODUCER,
    attributes: { module, 'messaging.destination.name': event },
  });
  const headers = currentTraceHeaders(trace.setSpan(context.active(), span));
  span.end();
  return headers;
}

/** The current trace context as W3C headers (`traceparent`), to carry in a message or a row. */
export function currentTraceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** A context continuing the trace carried by `headers` (or the current one when they carry none). */
export function contextFrom(headers: Readonly<Record<string, string | undefined>> | undefined): Context {
  return headers ? propagation.extract(context.active(), headers) : context.active();
}

/** Runs `work` in the trace `headers` carry: a log line written after the fact still names it. */
export function inTraceOf<T>(headers: Readonly<Record<string, string | undefined>> | undefined, work: () => T): T {
  return context.with(contextFrom(headers), work);
}

/** Trace and span id of the active span, for log lines; empty when none is recording. */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  const ids = span?.spanContext();
  return ids && trace.isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}

export { SpanKind };
