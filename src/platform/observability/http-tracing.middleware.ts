import { context, propagation, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import { currentTraceHeaders, SpanKind, tracer } from './tracing.js';

/** The trace ids of a request, kept on it for its access-log line (written after the span has ended). */
export interface TracedRequest extends Request {
  traceIds?: { trace_id: string; span_id: string };
}

/**
 * A SERVER span per HTTP request, continuing the caller's `traceparent` if
 * any, named by route template once routing is known. Registered with
 * `app.use` before every Nest middleware, so everything the request does runs
 * inside it. The response carries `traceparent`, so a client can find its trace.
 */
export function httpTracing(request: TracedRequest, response: Response, next: NextFunction): void {
  const parent = propagation.extract(ROOT_CONTEXT, request.headers);
  const span = tracer().startSpan(
    `HTTP ${request.method}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.path': request.path } },
    parent,
  );
  const active = trace.setSpan(parent, span);
  const ids = span.spanContext();
  if (trace.isSpanContextValid(ids)) {
    request.traceIds = { trace_id: ids.traceId, span_id: ids.spanId };
    const { traceparent } = currentTraceHeaders(active);
    if (traceparent) response.setHeader('traceparent', traceparent);
  }
  response.once('finish', () => {
    const route = (request.route as { path?: string } | undefined)?.path;
    const template = route ? `${request.baseUrl}${route}` : undefined;
    if (template) span.updateName(`${request.method} ${template}`);
    span.setAttributes({ 'http.response.status_code': response.statusCode, ...(template ? { 'http.route': template } : {}) });
    if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  context.with(active, next);
}
