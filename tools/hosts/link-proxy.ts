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
    const server = createServer({ noDelay: true });
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
    const upstream = connect({ ...this.options.target, noDelay: true });
    this.sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  private pipe(from: Socket, to: Socket): void {
    const delay = this.options.delayMs;
    from.on('data', (chunk: Buffer) => {
      if (delay <= 0) {
        to.write(chunk);
        return;
      }
      this.clock.at(PreciseClock.now() + delay, () => {
        if (!to.destroyed) to.write(chunk);
      });
    });
    // A half-close travels too (a client's FIN reaches the server after the data before it).
    from.on('end', () => (delay <= 0 ? to.end() : this.clock.at(PreciseClock.now() + delay, () => to.end())));
  }
}
