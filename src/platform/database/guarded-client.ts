import { Logger } from '@nestjs/common';
import pg from 'pg';

const logger = new Logger('Database');

/**
 * A pg Client that a lost connection never takes the process down with: it
 * listens for its own 'error' from birth and says so in one warn line.
 *
 * A Client emits 'error' when its connection dies while no query runs on it
 * (a restart's 57P01 `terminating connection due to administrator command`,
 * then "Connection terminated unexpectedly"), and an 'error' nobody listens
 * for is an uncaught exception. A pool listens only while a client is idle in
 * it; a client checked out and between two queries (a transaction's, a
 * lease's) had no listener. Every pool (`Client` option) and every dedicated
 * client is made of this class: the connection is then just broken, its
 * holder's next query fails (a 503, a retried pass), and the pool replaces it.
 */
export class GuardedClient extends pg.Client {
  /** Set by our own end(): the server may still end the session first (a fast shutdown right after a pool's end), which is no loss. */
  private endingByOwner = false;

  constructor(config?: string | pg.ClientConfig) {
    super(config);
    let warned = false;
    this.on('error', (error: Error & { code?: string }) => {
      if (this.endingByOwner) return;
      // Once per connection: the server's message, then the socket's end, say the same loss.
      if (warned) return;
      warned = true;
      const name = (this as unknown as { connectionParameters?: { application_name?: string } }).connectionParameters?.application_name;
      logger.warn(`${name ?? 'a'} connection lost${error.code ? ` (${error.code})` : ''}: ${error.message}`);
    });
  }

  override end(): Promise<void>;
  override end(callback: (error: Error) => void): void;
  override end(callback?: (error: Error) => void): Promise<void> | void {
    this.endingByOwner = true;
    return callback ? super.end(callback) : super.end();
  }
}
