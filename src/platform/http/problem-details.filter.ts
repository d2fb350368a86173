import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger, Optional } from '@nestjs/common';
import type { Request, Response } from 'express';
import { type ModuleErrorCode, ModuleError } from '../contracts/module.error.js';
import { isDatabaseUnavailable } from '../database/database-errors.js';
import { EarlyRefusals } from './early-refusals.js';
import { problem, type ProblemDetails, ProblemException } from './problem.js';

const STATUS_BY_CODE: Record<ModuleErrorCode, number> = {
  INVALID: 400,
  UNAUTHENTICATED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNPROCESSABLE: 422,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** Seconds a client should wait before retrying a 503. */
const RETRY_AFTER_SECONDS = '1';

/** Retry-After is whole seconds: a hint of a few ms is still "1". */
function retryAfterSeconds(ms: number | undefined): string {
  return ms === undefined ? RETRY_AFTER_SECONDS : String(Math.max(1, Math.ceil(ms / 1000)));
}

/**
 * The one place where anything thrown becomes an HTTP answer: always
 * problem+json, and a 500 says nothing about what went wrong inside.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(@Optional() private readonly earlyRefusals?: EarlyRefusals) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { body, headers } = this.toProblem(exception);
    if (response.headersSent) return;
    const text = JSON.stringify(body);
    if (exception instanceof ModuleError && exception.code === 'UNAVAILABLE' && exception.retryAfterMs !== undefined && this.earlyRefusals) {
      // Refused at capacity: the same route is refused at the door, before any work, while the hint lasts (ADR 16).
      const request = host.switchToHttp().getRequest<Request>();
      const route = (request.route as { path?: string } | undefined)?.path ?? request.path;
      this.earlyRefusals.close(request.method, request.path, route, exception.retryAfterMs, text, headers['Retry-After']);
    }
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response.status(body.status).type('application/problem+json').send(text);
  }

  private toProblem(exception: unknown): { body: ProblemDetails; headers: Record<string, string> } {
    if (exception instanceof ProblemException) {
      return { body: exception.toProblem(), headers: { ...exception.headers } };
    }
    if (exception instanceof ModuleError) {
      const status = STATUS_BY_CODE[exception.code];
      const detail = exception.code === 'INTERNAL' ? 'An unexpected error occurred.' : exception.message;
      return {
        body: problem(status, detail, exception.errors),
        headers: status === 503 ? { 'Retry-After': retryAfterSeconds(exception.retryAfterMs) } : {},
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message = typeof response === 'object' && response !== null && 'message' in response ? String(response.message) : exception.message;
      return { body: problem(status, message), headers: {} };
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn(`database unavailable: ${(exception as Error).message}`);
      return {
        body: problem(503, 'A service the request needs is temporarily unavailable.'),
        headers: { 'Retry-After': RETRY_AFTER_SECONDS },
      };
    }
    this.logger.error((exception as Error)?.stack ?? String(exception));
    return { body: problem(500, 'An unexpected error occurred.'), headers: {} };
  }
}
