import type { ConsumerStats } from '../observability/metrics.js';
import type { ModuleOperations } from './module-operations.js';

/**
 * What an operator may ask of a module, wherever it runs: in this process the
 * console answers it from the module's database; in another process the
 * console sends it over the transport and the process that hosts the module
 * answers it the same way (ADR 40). One vocabulary, one validation.
 */
export type OperatorRequest =
  | { readonly op: 'overview'; readonly watch?: ReadonlyArray<{ readonly saga: string; readonly key: string }> }
  | { readonly op: 'retry'; readonly key: string }
  | { readonly op: 'cancel'; readonly key: string; readonly saga?: string }
  | { readonly op: 'signal'; readonly saga: string; readonly key: string; readonly name: string; readonly id: string }
  | { readonly op: 'replay'; readonly eventId?: string };

/** A refused request: what was wrong (INVALID) or what it named that does not exist (NOT_FOUND). */
export class OperatorRequestError extends Error {
  override readonly name = 'OperatorRequestError';

  constructor(
    readonly code: 'INVALID' | 'NOT_FOUND',
    message: string,
  ) {
    super(message);
  }
}

const FIELDS: Record<OperatorRequest['op'], { required: readonly string[]; optional: readonly string[] }> = {
  overview: { required: [], optional: ['watch'] },
  retry: { required: ['key'], optional: [] },
  cancel: { required: ['key'], optional: ['saga'] },
  signal: { required: ['saga', 'key', 'name'], optional: ['id'] },
  replay: { required: [], optional: ['eventId'] },
};

/** At most this many sagas followed by key in one overview. */
export const MAX_WATCHED = 20;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads a request as it arrives (an HTTP body, a message): only the fields of
 * its op, each a string of 1 to 200 printable characters, an event id a UUID.
 * Throws OperatorRequestError('INVALID') naming the first thing wrong.
 */
export function readOperatorRequest(input: unknown, newId: () => string): OperatorRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new OperatorRequestError('INVALID', 'expected a JSON object');
  const body = input as Record<string, unknown>;
  const op = body.op;
  if (typeof op !== 'string' || !Object.hasOwn(FIELDS, op)) {
    throw new OperatorRequestError('INVALID', `op: one of ${Object.keys(FIELDS).join(', ')}`);
  }
  const { required, optional } = FIELDS[op as OperatorRequest['op']];
  const values: Record<string, string> = {};
  for (const [field, value] of Object.entries(body)) {
    if (field === 'op') continue;
    if (op === 'overview' && field === 'watch') continue;
    if (!required.includes(field) && !optional.includes(field)) throw new OperatorRequestError('INVALID', `${field}: not a field of '${op}'`);
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') throw new OperatorRequestError('INVALID', `${field}: expected a string`);
    // Printable only: a value is shown to the next operator, and written to logs.
    if (value.length > 200 || /[\p{Cc}]/u.test(value)) throw new OperatorRequestError('INVALID', `${field}: 1 to 200 printable characters`);
    values[field] = value;
  }
  for (const field of required) if (values[field] === undefined) throw new OperatorRequestError('INVALID', `${field}: required`);
  if (values.eventId !== undefined && !UUID.test(values.eventId)) throw new OperatorRequestError('INVALID', 'eventId: expected an event id (a UUID)');
  if (op === 'overview') return body.watch === undefined ? { op } : { op, watch: readWatch(body.watch) };
  if (op === 'signal') return { op, saga: values.saga, key: values.key, name: values.name, id: values.id ?? newId() };
  return { op, ...values } as OperatorRequest;
}

/** `watch`: sagas by saga and key, each a string of 1 to 200 printable characters. */
function readWatch(value: unknown): Array<{ saga: string; key: string }> {
  if (!Array.isArray(value) || value.length > MAX_WATCHED) throw new OperatorRequestError('INVALID', `watch: a list of at most ${MAX_WATCHED} { saga, key }`);
  return value.map((item: unknown) => {
    const { saga, key, ...rest } = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const ok = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 200 && !/[\p{Cc}]/u.test(v);
    if (!ok(saga) || !ok(key) || Object.keys(rest).length > 0)
      throw new OperatorRequestError('INVALID', 'watch: each { saga, key }, 1 to 200 printable characters');
    return { saga: saga as string, key: key as string };
  });
}

/** One module as the console shows it; dates as ISO strings, so that it reads the same whether it crossed the transport or not. */
export interface ModuleOverview {
  readonly module: string;
  readonly sagas: {
    readonly counts: ReadonlyArray<{ saga: string; version: number | null; status: string; count: number; approximate?: true }>;
    readonly inFlight: ReadonlyArray<{
      saga: string;
      key: string;
      version: number;
      status: string;
      step: string;
      awaiting?: readonly string[];
      until?: string | null;
      cancelReason: string | null;
    }>;
    readonly stuck: ReadonlyArray<{ saga: string; key: string; step: string; attempts: number; lastError: string | null; since: string }>;
    /** The sagas the request asked to follow (`watch`), as they stand now. */
    readonly watched: ReadonlyArray<{
      saga: string;
      key: string;
      version: number;
      status: string;
      step: string;
      failureReason: string | null;
      updatedAt: string;
    }>;
  };
  readonly outbox: {
    readonly pending: number;
    readonly oldestPendingAgeMs: number;
    readonly dead: number;
    readonly subscribers: ReadonlyArray<{ subscriber: string; pending: number; dead: number }>;
    readonly deadLetters: ReadonlyArray<{
      eventId: string;
      subscriber: string;
      name: string;
      aggregateId: string;
      attempts: number;
      lastError: string | null;
      occurredAt: string;
    }>;
  };
  /** The module's subscribers' consumers on the event stream (none when events stay in one process). */
  readonly consumers: readonly ConsumerStats[];
}

/** What an action did, in a sentence for the operator and in numbers for a script. */
export interface OperatorOutcome {
  readonly module: string;
  readonly message: string;
  readonly affected: number;
}

const iso = (date: Date | null | undefined) => (date ? new Date(date).toISOString() : null);

/**
 * Answers a request from the module's own database (the process that hosts
 * it). `consumers`: this process's stream consumers of the module's subscribers.
 */
export async function performOperatorRequest(
  operations: ModuleOperations,
  request: OperatorRequest,
  consumers: () => Promise<readonly ConsumerStats[]>,
): Promise<ModuleOverview | OperatorOutcome> {
  const module = operations.module;
  switch (request.op) {
    case 'overview': {
      const [counts, inFlight, stuck, watched, stats, subscribers, deadLetters, streamConsumers] = await Promise.all([
        operations.sagaCounts(),
        operations.listSagas(),
        operations.stuckSagas(),
        operations.sagasByKey(request.watch ?? []),
        operations.outboxStats(),
        operations.backlogBySubscriber(),
        operations.deadLetters(),
        consumers(),
      ]);
      return {
        module,
        sagas: {
          counts,
          inFlight: inFlight.map(({ until, ...saga }) => ({ ...saga, ...(saga.awaiting ? { until: iso(until) } : {}) })),
          stuck: stuck.map((saga) => ({ ...saga, since: iso(saga.since)! })),
          watched: watched.map((saga) => ({ ...saga, updatedAt: iso(saga.updatedAt)! })),
        },
        outbox: { ...stats, subscribers, deadLetters },
        consumers: streamConsumers.filter((consumer) => consumer.consumer.startsWith(`${module}_`)),
      };
    }
    case 'retry': {
      const retried = await operations.retry(request.key);
      if (retried.length === 0) throw new OperatorRequestError('NOT_FOUND', `${module}: no STUCK saga has key '${request.key}'`);
      return { module, affected: retried.length, message: retried.map((s) => `${module}: ${s.saga} saga ${request.key} runs again from ${s.step}`).join('\n') };
    }
    case 'cancel': {
      const cancelled = await operations.cancel(request.key, request.saga);
      if (cancelled.length === 0) throw new OperatorRequestError('NOT_FOUND', `${module}: no saga in flight has key '${request.key}'`);
      return {
        module,
        affected: cancelled.length,
        message: cancelled.map((s) => `${module}: ${s.saga} saga ${request.key} gives up at ${s.step} and compensates`).join('\n'),
      };
    }
    case 'signal': {
      if (!(await operations.hasSaga(request.saga))) throw new OperatorRequestError('NOT_FOUND', `${module}: has no '${request.saga}' saga`);
      const fresh = await operations.signal(request.saga, request.key, request.name, request.id);
      return {
        module,
        affected: fresh ? 1 : 0,
        message: `${module}: signal ${request.name} (${request.id}) for ${request.saga} saga ${request.key} ${fresh ? 'recorded' : 'was recorded before: counted once'}`,
      };
    }
    case 'replay': {
      const replayed = await operations.replay(request.eventId);
      return { module, affected: replayed, message: `${module}: ${replayed} dead letter(s) put back in line` };
    }
  }
}
