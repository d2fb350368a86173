import { connect, createServer, type Socket } from 'node:net';

/** A port that forwards, from now on, to `target`: a server that was away coming back, as its clients see it. */
export interface Forwarder {
  /** Stops listening and ends every connection through it. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` and pipes every connection to `target` (host and port of a URL; `defaultPort` when it has none). */
export async function forwardPort(port: number, target: URL, defaultPort: number): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || defaultPort), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
