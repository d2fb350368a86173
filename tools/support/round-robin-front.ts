import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePortRange } from './network.js';

/**
 * A round-robin TCP front for replicas of the gateway (what a load balancer
 * does in front of a deployment): each new connection goes to the next
 * backend; when that one refuses (a replica that is down), the next one is
 * tried, so only the requests in flight on a dying replica's connections fail.
 */
export class RoundRobinFront {
  private next = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly backends: ReadonlyArray<{ host: string; port: number }>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(backendUrls: readonly string[]): Promise<RoundRobinFront> {
    const port = await freePortRange(1);
    const server = createServer();
    const backends = backendUrls.map((u) => new URL(u)).map((u) => ({ host: u.hostname, port: Number(u.port) }));
    const front = new RoundRobinFront(server, port, backends);
    server.on('connection', (client) => front.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return front;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.pause();
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    const first = this.next++ % this.backends.length;
    const attempt = (tries: number) => {
      const backend = this.backends[(first + tries) % this.backends.length];
      const upstream = connect(backend);
      upstream.once('connect', () => {
        this.sockets.add(upstream);
        upstream.on('close', () => {
          this.sockets.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      let connected = false;
      upstream.once('connect', () => (connected = true));
      upstream.on('error', () => {
        upstream.destroy();
        if (!connected && tries + 1 < this.backends.length) attempt(tries + 1);
        else client.destroy();
      });
    };
    attempt(0);
  }
}
