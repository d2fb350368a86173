import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePortRange } from './network.js';

/**
 * A TCP proxy between one process and a server (NATS), with faults to inject:
 * - `delay(ms)`: every chunk, both ways, is held `ms` before it is forwarded
 *   (in order): a slow link or a slow host, as the process's peers see it;
 * - `partition()`: traffic is dropped both ways, and new connections are
 *   accepted but never reach the server, until `heal()`; a connection that
 *   lost bytes is then reset (its byte stream is broken, as a TCP connection
 *   would be after a partition outlasting its retransmissions), so the client
 *   reconnects, through the proxy again;
 * - `hold(direction)`: what goes that way ('out': from the process, 'in': to it) waits, in
 *   order, until `release()`: e.g. a process's answers held past its callers' deadlines,
 *   while what is sent to it still arrives (`seen(text)` counts what did);
 * With no fault it forwards as is (or with the base delay of a planted slow module).
 */
export class FaultProxy {
  private delayMs: number;
  private partitioned = false;
  /** Per direction, the gate its chunks wait at while held (resolved by `release`). */
  private readonly gates: Partial<Record<ProxyDirection, { open: Promise<void>; release: () => void }>> = {};
  private readonly watches: Array<{ text: Buffer; count: number; carry: Buffer }> = [];
  private readonly sessions = new Set<{ client: Socket; upstream: Socket | undefined; lost: boolean }>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
    /** The delay when no fault is injected (a planted slow module), restored by `heal`. */
    private readonly baseDelayMs: number,
  ) {
    this.delayMs = baseDelayMs;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(targetUrl: string, baseDelayMs = 0): Promise<FaultProxy> {
    const target = new URL(targetUrl);
    const port = await freePortRange(1);
    const server = createServer();
    const proxy = new FaultProxy(server, port, { host: target.hostname, port: Number(target.port || 4222) }, baseDelayMs);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  delay(ms: number): void {
    this.delayMs = ms;
  }

  partition(): void {
    this.partitioned = true;
  }

  heal(): void {
    this.partitioned = false;
    this.delayMs = this.baseDelayMs;
    for (const session of [...this.sessions]) {
      if (session.lost || !session.upstream) {
        session.client.destroy();
        session.upstream?.destroy();
        this.sessions.delete(session);
      }
    }
  }

  /** Holds every chunk going `direction` ('out': from the process to the server) until `release()`. */
  hold(direction: ProxyDirection): void {
    if (this.gates[direction]) return;
    let release!: () => void;
    const open = new Promise<void>((resolve) => (release = resolve));
    this.gates[direction] = { open, release };
  }

  /** Lets every held chunk go, in order. */
  release(): void {
    for (const direction of ['in', 'out'] as const) {
      this.gates[direction]?.release();
      delete this.gates[direction];
    }
  }

  /** Counts, from now on, the times `text` (e.g. a NATS subject) reaches the process ('in'), split across chunks or not. */
  seen(text: string): { readonly count: number } {
    const watch = { text: Buffer.from(text), count: 0, carry: Buffer.alloc(0) };
    this.watches.push(watch);
    return watch;
  }

  /** Connections currently open through the proxy. */
  get connections(): number {
    return this.sessions.size;
  }

  async stop(): Promise<void> {
    for (const session of this.sessions) {
      session.client.destroy();
      session.upstream?.destroy();
    }
    this.sessions.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const session: { client: Socket; upstream: Socket | undefined; lost: boolean } = { client, upstream: undefined, lost: false };
    this.sessions.add(session);
    const end = () => {
      client.destroy();
      session.upstream?.destroy();
      this.sessions.delete(session);
    };
    client.on('error', end).on('close', end);
    // Connected only when not partitioned: a connection made during a partition waits for the heal (then is reset).
    if (this.partitioned) {
      session.lost = true;
      client.on('data', () => {});
      return;
    }
    const upstream = connect(this.target);
    session.upstream = upstream;
    upstream.on('error', end).on('close', end);
    this.pipe(client, upstream, session, 'out');
    this.pipe(upstream, client, session, 'in');
  }

  /** Counts each watched text in a chunk, with the end of the one before (a text split across two). */
  private watch(chunk: Buffer): void {
    for (const watch of this.watches) {
      const data = Buffer.concat([watch.carry, chunk]);
      for (let at = data.indexOf(watch.text); at !== -1; at = data.indexOf(watch.text, at + watch.text.length)) watch.count++;
      // Kept: less than one text's length, so nothing counted is counted again.
      watch.carry = data.subarray(Math.max(0, data.length - (watch.text.length - 1)));
    }
  }

  private pipe(from: Socket, to: Socket, session: { lost: boolean }, direction: ProxyDirection): void {
    // One queue per direction, so a delay or a hold keeps the order of the chunks.
    let tail = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (this.partitioned) {
        session.lost = true;
        return;
      }
      if (direction === 'in') this.watch(chunk);
      const gate = this.gates[direction];
      if (gate) tail = tail.then(() => gate.open);
      const wait = this.delayMs;
      if (wait === 0) {
        tail = tail.then(() => {
          if (!to.destroyed) to.write(chunk);
        });
        return;
      }
      const due = performance.now() + wait;
      tail = tail.then(
        () =>
          new Promise<void>((resolve) => {
            setTimeout(
              () => {
                if (!to.destroyed) to.write(chunk);
                resolve();
              },
              Math.max(0, due - performance.now()),
            );
          }),
      );
    });
  }
}

/** Which way through the proxy: 'out' from the proxied process to the server, 'in' to the process. */
export type ProxyDirection = 'in' | 'out';
