/**
 * Whether an error means "the database is not there right now" (restart,
 * network, pool exhausted) rather than "the request is wrong": the first is
 * answered with 503 and retried, the second is a bug or a client error.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
      if (code.startsWith('08') || /^57P0[123]$/.test(code)) return true;
      if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
    }
    // TypeORM gives a query runner back to the pool by itself only when its connection emits 'error'
    // (lost): a transaction whose connection died between two of its queries then fails on the next
    // one (often its COMMIT) with this, which names no cause. The server rolled it back: nothing was done.
    if ((current as { name?: unknown }).name === 'QueryRunnerAlreadyReleasedError') return true;
    if (
      typeof message === 'string' &&
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable/i.test(
        message,
      )
    ) {
      return true;
    }
    current = (current as { driverError?: unknown; cause?: unknown }).driverError ?? (current as { cause?: unknown }).cause;
  }
  return false;
}
