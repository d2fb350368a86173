import { connect, createServer, type Server, type Socket } from 'node:net';
import { PreciseClock } from './precise-clock.js';

export interface LinkProxyOptions {
  /** Where it listens: the host's address on the network, and the server's port. */
  readonly listen: { readonly host: string; readonly port: number };
  /** The server it fronts, on the host's loopback. */
  readonly target: { readonly host: string; readonly port: number };
  /** Added to every chunk, each way: a link's one-way latency. */
  readonly delayMs: number;
}

/**
 * The delaying end of a link between hosts: a TCP proxy on a server's host (PostgreSQL, NATS) or
 * in front of a gateway, holding every chunk `delayMs` each way, in order. The kernel here has no
 * netem, so the delay is added in user space (as tools/support/fault-proxy.ts does for NATS),
 * with a clock precise below a millisecond (precise-clock.ts). What it cannot give: loss,
 * reordering, bandwidth limits; partitions are the network's (nftables rules, host-network.ts).
 */
export class LinkProxy {
  private readonly sockets = new Set<Socket>();
  private readonly clock = new PreciseClock();

  private constructor(
    private readonly server: Server,
    readonly options: LinkProxyOptions,
  ) {}

  static async start(options: LinkProxyOptions): Promise<LinkProxy> {
    // Half-open allowed: a FIN is forwarded (after the delay, behind the data before it) rather than acted on at once.
    const server = createServer({ noDelay: true, allowHalfOpen: true });
    const proxy = new LinkProxy(server, options);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listen.port, options.listen.host, () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : this.options.listen.port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.clock.stop();
  }

  private accept(client: Socket): void {
    const upstream = connect({ ...this.options.target, noDelay: true, allowHalfOpen: true });
    this.sockets.add(client).add(upstream);
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  /**
   * One direction: data, then the FIN (a server answering and closing, e.g. a 400 with
   * `Connection: close`) or a reset, each after the delay, in order. Never a destroy ahead of
   * data still on its way: the peer would see a reset instead of the answer.
   */
  private pipe(from: Socket, to: Socket): void {
    const later = (run: () => void) => (this.options.delayMs <= 0 ? run() : this.clock.at(PreciseClock.now() + this.options.delayMs, run));
    from.on('data', (chunk: Buffer) => later(() => !to.destroyed && to.write(chunk)));
    from.on('end', () => later(() => !to.destroyed && to.end()));
    from.on('error', () => later(() => to.destroy()));
    from.on('close', () => {
      this.sockets.delete(from);
      // Both ends closed normally: nothing left to forward.
      if (to.writableEnded && from.writableEnded) return;
      later(() => (to.writableEnded ? undefined : to.end()));
    });
  }
}
