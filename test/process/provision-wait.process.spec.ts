import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { type Forwarder, forwardPort } from '../support/tcp-forward.js';
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

describe('npm run provision -- --wait', () => {
  let database: TestDatabase;
  let forwarder: Forwarder | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await forwarder?.close();
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
      // The server coming up late: from now on, the port leads to the test's PostgreSQL.
      forwarder = await forwardPort(port, new URL(database.url), 5432);
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
