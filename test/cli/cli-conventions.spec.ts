import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every CLI agrees (docs/development.md, "The CLIs"): `--help` prints its usage and exits 0; bad
 * usage exits 2 with one line on stderr, naming the CLI, never a stack trace. Run as the npm
 * scripts run them: the built files, with the arguments after `--`.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const CLIS: ReadonlyArray<{ name: string; file: string }> = [
  { name: 'sagas', file: 'dist/src/cli/sagas.cli.js' },
  { name: 'outbox', file: 'dist/src/cli/outbox.cli.js' },
  { name: 'provision', file: 'dist/src/cli/provision.cli.js' },
  { name: 'nats-auth', file: 'dist/src/cli/nats-auth.cli.js' },
  { name: 'topology', file: 'dist/tools/topology/topology.cli.js' },
  { name: 'new:module', file: 'dist/tools/new-module/new-module.cli.js' },
  { name: 'verify', file: 'dist/tools/verify/verify.cli.js' },
  { name: 'docs:architecture', file: 'dist/tools/verify/architecture-docs.cli.js' },
  { name: 'compare', file: 'dist/tools/compare/compare.cli.js' },
  { name: 'explore', file: 'dist/tools/explore/explore.cli.js' },
  { name: 'hosts', file: 'dist/tools/hosts/hosts.cli.js' },
];

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    // No database or NATS in reach: a CLI that tried to connect before judging its arguments would fail (1), not answer 2.
    const env = { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', NATS_URL: 'nats://127.0.0.1:1' };
    const child = spawn(process.execPath, [join(ROOT, file), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  const missing = CLIS.filter(({ file }) => !existsSync(join(ROOT, file)));
  if (missing.length > 0) throw new Error(`no build of ${missing.map((cli) => cli.file).join(', ')}: run \`npm run build\` first`);
});

describe.each(CLIS)('npm run $name', ({ name, file }) => {
  it('prints its usage for --help and exits 0', async () => {
    const exit = await run(file, ['--help']);
    expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: '' });
    expect(exit.stdout).toMatch(new RegExp(`^usage: npm run ${name.replace(':', '\\:')}`, 'm'));
  }, 120_000);

  it('exits 2 on an unknown option, with one line on stderr and no stack trace', async () => {
    const exit = await run(file, ['--no-such-option']);
    expect({ code: exit.code, lines: exit.stderr.trim().split('\n') }).toEqual({
      code: 2,
      lines: [expect.stringMatching(new RegExp(`^${name}: .*no-such-option`))],
    });
  }, 120_000);
});

describe('CLIs that take a command', () => {
  it.each([
    ['sagas', [], 'dist/src/cli/sagas.cli.js'],
    ['outbox', [], 'dist/src/cli/outbox.cli.js'],
    ['topology', [], 'dist/tools/topology/topology.cli.js'],
    ['sagas', ['frobnicate'], 'dist/src/cli/sagas.cli.js'],
    ['outbox', ['stats', 'no_such_module'], 'dist/src/cli/outbox.cli.js'],
    ['topology', ['no-such-topology'], 'dist/tools/topology/topology.cli.js'],
    ['new:module', [], 'dist/tools/new-module/new-module.cli.js'],
  ] as const)(
    '%s %j: bad usage, exit 2 and one line',
    async (name, args, file) => {
      const exit = await run(file, args);
      expect({ code: exit.code, lines: exit.stderr.trim().split('\n').length, named: exit.stderr.startsWith(`${name}: `) }).toEqual({
        code: 2,
        lines: 1,
        named: true,
      });
    },
    120_000,
  );
});
