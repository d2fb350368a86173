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
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => activeTraceIds(),
    ...(process.stdout.isTTY && process.env.NODE_ENV !== 'test'
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } }
      : {}),
  });
}

/**
 * Nest's Logger calls (`new Logger('orders.checkout-saga').log(...)`) written
 * to pino, with the Nest context as `context`. Objects are logged as fields,
 * so a caller can add `{ orderId }` to its line.
 */
export class PinoNestLogger implements LoggerService {
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
    if (message !== null && typeof message === 'object' && !(message instanceof Error)) {
      this.pino[level]({ ...fields, ...(message as object) });
    } else {
      this.pino[level](fields, message instanceof Error ? message.stack ?? message.message : String(message));
    }
  }
}
