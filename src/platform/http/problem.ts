import { STATUS_CODES } from 'node:http';
import type { FieldError } from '../contracts/module.error.js';

/** RFC 9457 problem details, as store-api.md shows them. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors?: readonly FieldError[];
}

export function problem(status: number, detail: string, errors?: readonly FieldError[]): ProblemDetails {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** Thrown by the HTTP layer itself (body parsing, content type, validation) to answer a problem. */
export class ProblemException extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly errors?: readonly FieldError[],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
  }

  toProblem(): ProblemDetails {
    return problem(this.status, this.message, this.errors);
  }
}
