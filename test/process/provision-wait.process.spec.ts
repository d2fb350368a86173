import { spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * `npm run provision -- --wait SECONDS`: a provisioning started together with its database
 * (compose's one-shot under podman-compose, which starts services in order but does not wait
 * for `service_healthy`; a Job beside a database still starting) waits for the server to accept
 * connections instead of failing at once; past the deadline it stops with one line.
 */
const CLI = fileURLToPath(new URL('../../dist/src/cli/provision.cli.js', import.meta.url));

function provision(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { exited, stdout: () => stdout, stderr: () => stderr, kill: () => child.kill('SIGKILL') };
}

/** The server coming up late: a TCP forwarder to the test's PostgreSQL, listening from now on. */
function forward(port: number, target: URL): Promise<{ server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, sockets })));
}

describe('npm run provision -- --wait', () => {
  let database: TestDatabase;
  let forwarder: { server: Server; sockets: Set<Socket> } | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const socket of forwarder?.sockets ?? []) socket.destroy();
    forwarder?.server.close();
    await database?.drop();
  });

  it('waits for a server that accepts connections only later, then provisions', async () => {
    const port = await freePort();
    const late = new URL(database.url);
    late.hostname = '127.0.0.1';
    late.port = String(port);
    const run = provision(['--modules', 'inventory', '--redacted', '--wait', '60'], { DATABASE_URL: late.toString(), DB_ROLE_SECRET: 'provision-wait-secret' });
    try {
      await eventually(
        async () => expect(run.stderr()).toMatch(/^provision: waiting up to 60 s for the database at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/m),
        30_000,
      );
      forwarder = await forward(port, new URL(database.url));
      expect({ code: await run.exited, stdout: run.stdout() }).toEqual({
        code: 0,
        stdout: expect.stringMatching(/^INVENTORY_DATABASE_URL=postgres:\/\/.*\.inventory:/m),
      });
    } finally {
      run.kill();
    }
  }, 90_000);

  it('stops with one line once the wait is over and the server never came', async () => {
    const port = await freePort();
    const never = new URL(database.url);
    never.hostname = '127.0.0.1';
    never.port = String(port);
    const run = provision(['--modules', 'inventory', '--wait', '2'], { DATABASE_URL: never.toString(), DB_ROLE_SECRET: 'provision-wait-secret' });
    expect(await run.exited).toBe(1);
    expect(run.stderr().trim().split('\n')).toEqual([
      expect.stringMatching(/^provision: waiting up to 2 s for the database at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/),
      expect.stringMatching(/^provision: cannot reach the database .*ECONNREFUSED/),
    ]);
  }, 60_000);

  it('refuses a wait that is not a number of seconds, in one line', async () => {
    const run = provision(['--wait', 'soon'], { DATABASE_URL: database.url });
    expect(await run.exited).toBe(2); // a usage error (the CLIs' convention: docs/development.md)
    expect(run.stderr().trim().split('\n')).toEqual(["provision: --wait: a number of seconds (0..3600), not 'soon'"]);
  }, 30_000);
});
