import { connect, createServer, type Server } from 'node:net';
import { LinkProxy } from '../../tools/hosts/link-proxy.js';

/**
 * The link end forwards what a server says and then its FIN, in that order, whatever the delay: a
 * server that answers and closes at once (a 400 with `Connection: close`) must not reach its
 * client as a reset. Checked with bytes and events, never with elapsed time.
 */
describe('LinkProxy', () => {
  let server: Server;
  let port: number;
  const answer = Buffer.alloc(256 * 1024, 'x');

  beforeAll(async () => {
    // Answers each connection with a large body, then closes it at once.
    server = createServer((socket) => {
      socket.on('error', () => {});
      socket.end(answer);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([0, 0.5, 2])('with %s ms each way, delivers the whole answer, then the end, never a reset', async (delayMs) => {
    const proxy = await LinkProxy.start({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port }, delayMs });
    try {
      const outcome = await new Promise<{ bytes: number; ended: boolean; error?: string }>((resolve) => {
        const client = connect({ host: '127.0.0.1', port: proxy.port });
        let bytes = 0;
        let ended = false;
        client.on('data', (chunk) => (bytes += chunk.length));
        client.on('end', () => (ended = true));
        client.on('error', (error: NodeJS.ErrnoException) => resolve({ bytes, ended, error: error.code }));
        client.on('close', () => resolve({ bytes, ended }));
      });
      expect(outcome).toEqual({ bytes: answer.length, ended: true });
    } finally {
      await proxy.stop();
    }
  });

  it('keeps the order of what it forwards', async () => {
    const echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
    const proxy = await LinkProxy.start({
      listen: { host: '127.0.0.1', port: 0 },
      target: { host: '127.0.0.1', port: (echo.address() as { port: number }).port },
      delayMs: 0.5,
    });
    try {
      const sent = Array.from({ length: 200 }, (_, i) => `${i};`).join('');
      const received = await new Promise<string>((resolve) => {
        const client = connect({ host: '127.0.0.1', port: proxy.port });
        let text = '';
        client.on('data', (chunk) => {
          text += chunk.toString();
          if (text.length >= sent.length) {
            client.end();
            resolve(text);
          }
        });
        for (let i = 0; i < 200; i++) client.write(`${i};`);
      });
      expect(received).toBe(sent);
    } finally {
      await proxy.stop();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });
});
