import type { LoggerService } from '@nestjs/common';
import { pino, type Logger as Pino } from 'pino';
import type { LogLevel } from '../config/app-config.js';
import { activeTraceIds } from './tracing.js';

/**
 * The process's structured log: JSON lines (pino) with service, module
 * context, and the trace and span ids of whatever is running; pretty output
 * when a person watches a terminal.
 */
export function createRootLogger(level: LogLevel, service: string): Pino {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names, not numbers: a person reading JSON lines, or a query, should not need a table.
    formatters: { level: (label) => ({ level: label }), log: (fields) => boundedFields(fields) },
    // The message too: a 900 KB field echoed in an error must not become a 900 KB line.
    hooks: {
      logMethod(args, method) {
        return method.apply(this, args.map((arg) => (typeof arg === 'string' ? truncate(arg) : arg)) as Parameters<typeof method>);
      },
    },
    mixin: () => activeTraceIds(),
    ...(process.stdout.isTTY && process.env.NODE_ENV !== 'test'
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } }
      : {}),
  });
}

/** Longest string value a log line carries; the rest is cut and its length said. */
export const MAX_LOGGED_STRING = 2_000;
const MAX_LOGGED_KEYS = 50;
const MAX_LOGGED_DEPTH = 6;

export function truncate(text: string, max = MAX_LOGGED_STRING): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/**
 * A log line's fields, bounded; `req`, `res` and `err` are left to their
 * serializers (which pino applies after this, and which keep a few short
 * fields): a bounded copy of a response object would have lost its statusCode.
 */
function boundedFields(fields: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) result[key] = key === 'req' || key === 'res' || key === 'err' ? value : bounded(value, 1);
  return result;
}

/** A copy of a log line's fields with every string, array, object and nesting level bounded. */
export function bounded(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return truncate(value);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (value instanceof Error) return { type: value.name, message: truncate(value.message), stack: value.stack && truncate(value.stack) };
  if (depth >= MAX_LOGGED_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_LOGGED_KEYS).map((item) => bounded(item, depth + 1));
    return value.length > MAX_LOGGED_KEYS ? [...items, `… (${value.length - MAX_LOGGED_KEYS} more items)`] : items;
  }
  const entries = Object.entries(value);
  const result: Record<string, unknown> = {};
  for (const [key, item] of entries.slice(0, MAX_LOGGED_KEYS)) result[truncate(key, 100)] = bounded(item, depth + 1);
  if (entries.length > MAX_LOGGED_KEYS) result['…'] = `${entries.length - MAX_LOGGED_KEYS} more fields`;
  return result;
}

/** How often one repeated warning or error is written, at most: the first at once, then one line per interval with a count. */
export const REPEAT_INTERVAL_MS = 5_000;
const MAX_REPEAT_KEYS = 1_000;

/**
 * Aggregates repeated warnings and errors: a partition makes every call,
 * every relay pass and every consumer say the same thing many times a
 * second. A line is "the same" as another when its context and its text,
 * with numbers and ids blanked out, are. The first is written at once; the
 * ones after it within REPEAT_INTERVAL_MS are counted and written as one line
 * (the last of them, with `repeated: <count>`) when the interval ends.
 */
export class RepeatedLines {
  private readonly seen = new Map<string, { until: number; count: number; last?: () => void; timer?: NodeJS.Timeout }>();

  constructor(private readonly intervalMs = REPEAT_INTERVAL_MS) {}

  /** Writes now, or counts it and writes once at the end of the interval (`write(repeated)`). */
  offer(key: string, write: (repeated?: number) => void): void {
    const now = Date.now();
    const entry = this.seen.get(key);
    if (entry === undefined || now >= entry.until) {
      if (entry === undefined && this.seen.size >= MAX_REPEAT_KEYS) this.flushAll();
      this.seen.set(key, { until: now + this.intervalMs, count: 0 });
      write();
      return;
    }
    entry.count++;
    entry.last = () => write(entry.count);
    entry.timer ??= setTimeout(() => this.flush(key), Math.max(0, entry.until - now)).unref();
  }

  private flush(key: string): void {
    const entry = this.seen.get(key);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    // The next occurrence starts a new interval, written at once.
    this.seen.delete(key);
    if (entry.count > 0) entry.last?.();
  }

  flushAll(): void {
    for (const key of [...this.seen.keys()]) this.flush(key);
  }
}

/** What makes two lines "the same": their text with numbers, hex ids and quoted values blanked. */
export function repeatKey(level: string, context: string | undefined, text: string): string {
  const shape = text
    .slice(0, 300)
    .replace(/'[^']*'|"[^"]*"/g, '?')
    .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '#')
    .replace(/\b[0-9a-f]{12,}\b/gi, '#')
    .replace(/\d+/g, '#');
  return `${level}|${context ?? ''}|${shape}`;
}

/**
 * Nest's Logger calls (`new Logger('orders.checkout-saga').log(...)`) written
 * to pino, with the Nest context as `context`. Objects are logged as fields,
 * so a caller can add `{ orderId }` to its line.
 */
export class PinoNestLogger implements LoggerService {
  private readonly repeated = new RepeatedLines();

  constructor(private readonly pino: Pino) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', message: unknown, rest: unknown[]): void {
    // Nest passes the context last; an error passes its stack before it.
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const fields = { ...(context ? { context } : {}) };
    const structured = message !== null && typeof message === 'object' && !(message instanceof Error);
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- not an object here (structured is false): a primitive's own text
    const text = structured ? '' : message instanceof Error ? (message.stack ?? message.message) : String(message);
    const emit = (repeated?: number) => {
      const extra = repeated === undefined ? {} : { repeated, repeatedWithinMs: REPEAT_INTERVAL_MS };
      if (structured) this.pino[level]({ ...fields, ...message, ...extra });
      else this.pino[level]({ ...fields, ...extra }, text);
    };
    if (level !== 'warn' && level !== 'error') return emit();
    const key = repeatKey(
      level,
      context,
      structured ? String(((message as { msg?: unknown }).msg as string | undefined) ?? JSON.stringify(Object.keys(message))) : text,
    );
    this.repeated.offer(key, emit);
  }
}
