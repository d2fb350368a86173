/**
 * The errors a module may answer a contract call with. They are data, not
 * classes with behaviour, so that they cross a process boundary unchanged:
 * the gateway maps each code to one HTTP status, whatever process raised it.
 */
export const MODULE_ERROR_CODES = [
  'INVALID', // the input broke the contract (400)
  'UNAUTHENTICATED', // the caller did not prove who it is: a missing, wrong or stale signature (401)
  'NOT_FOUND', // unknown id (404)
  'CONFLICT', // duplicate, or a key reused with other content (409)
  'UNPROCESSABLE', // valid shape, impossible request (422)
  'UNAVAILABLE', // the module could not be reached or its store is down (503)
  'INTERNAL', // a bug; details stay in the module's log (500)
] as const;
export type ModuleErrorCode = (typeof MODULE_ERROR_CODES)[number];

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export interface ModuleErrorData {
  readonly code: ModuleErrorCode;
  readonly message: string;
  readonly module: string;
  readonly errors?: readonly FieldError[];
  /**
   * Set on an UNAVAILABLE that is a refusal at capacity (ADR 16): the module is
   * up and answered at once, and says when to come back (ms). The HTTP edge
   * refuses the same route before any work for that long.
   */
  readonly retryAfterMs?: number;
}

export class ModuleError extends Error implements ModuleErrorData {
  override readonly name = 'ModuleError';

  constructor(
    readonly code: ModuleErrorCode,
    message: string,
    readonly module: string,
    readonly errors?: readonly FieldError[],
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  toData(): ModuleErrorData {
    return {
      code: this.code,
      message: this.message,
      module: this.module,
      ...(this.errors ? { errors: this.errors } : {}),
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
    };
  }

  static fromData(data: ModuleErrorData): ModuleError {
    // Only a sane hint crosses over: a peer's garbage must not close a route for long.
    const hint = typeof data.retryAfterMs === 'number' && Number.isFinite(data.retryAfterMs) ? Math.min(Math.max(data.retryAfterMs, 0), 60_000) : undefined;
    return new ModuleError(data.code, data.message, data.module, data.errors, data.code === 'UNAVAILABLE' ? hint : undefined);
  }
}
