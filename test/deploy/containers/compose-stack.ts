import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containersEnv, run, tail } from './podman.js';

/**
 * deploy/compose.yaml brought up with podman-compose as an operator brings it up (README,
 * Deploying; the commands of the file's header), in a copy of the checkout: the build context a
 * fresh clone gives (git's files, uncommitted changes included, nothing it ignores), the
 * credentials the project's commands write into its deploy/secrets/, the Dockerfile and compose
 * file byte for byte (or with an error planted in the copy).
 */

/**
 * A copy of the checkout's files as a clone has them (tracked and new, never what git ignores),
 * with the installed dependencies (a link) and the current build (copied, with the files' times,
 * so that `npm run <command>`'s building pre-script finds it up to date), as an operator's
 * checkout has them after `npm ci` and a build. .dockerignore keeps both out of the image.
 */
export function copyCheckout(root: string): string {
  const context = mkdtempSync(join(tmpdir(), 'mf-compose-'));
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files in ${root}: ${listed.stderr}`);
  // Deleted in the working tree but still in the index: not in a clone of what is committed next.
  const files = listed.stdout.split('\0').filter((file) => file !== '' && existsSync(join(root, file)));
  // GNU cp keeps the times to the nanosecond (the build's fingerprint compares them).
  const copied = spawnSync('xargs', ['-0', 'cp', '-a', '--parents', '-t', context], { cwd: root, input: files.join('\0'), encoding: 'utf8' });
  if (copied.status !== 0) throw new Error(`copying the checkout: ${copied.stderr}`);
  symlinkSync(join(root, 'node_modules'), join(context, 'node_modules'));
  if (existsSync(join(root, 'dist'))) {
    const build = spawnSync('cp', ['-a', realpathSync(join(root, 'dist')), join(context, 'dist')], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`copying the build: ${build.stderr}`);
  }
  return context;
}

/**
 * The commands deploy/compose.yaml's header gives for the credentials (up to the `compose up`
 * line, which the harness runs with podman-compose), as one shell script.
 */
export function composeHeaderCommands(compose: string): string {
  const header = compose.split('\n').filter((line) => line.startsWith('#')).map((line) => line.slice(1));
  const start = header.findIndex((line) => /^\s+umask\b/.test(line));
  const end = header.findIndex((line) => /\bcompose -f deploy\/compose\.yaml up\b/.test(line));
  if (start < 0 || end < start) throw new Error('deploy/compose.yaml: no credential commands in its header (umask … up to `compose -f deploy/compose.yaml up`)');
  return header.slice(start, end).map((line) => line.trim()).join('\n');
}

/** The store's image as the compose file names it (monolith-first:<release>). */
export function storeImageOf(compose: string): string {
  const image = /^\s+image: (monolith-first:\S+)$/m.exec(compose)?.[1];
  if (!image) throw new Error('deploy/compose.yaml names no monolith-first:<release> image');
  return image;
}

export interface ContainerState {
  readonly service: string;
  readonly name: string;
  readonly state: string;
  readonly exitCode: number;
  readonly restarts: number;
}

export interface ComposeStack {
  readonly project: string;
  /** The gateway's published address (127.0.0.1:STORE_PORT). */
  readonly url: string;
  /** podman-compose's own commands and their output, in order. */
  readonly transcript: string[];
  /** `podman-compose build [service]`: every `podman build` it ran exited 0, or what failed. */
  build(service?: string): Promise<{ ok: boolean; output: string }>;
  /** `podman-compose up -d` (the image is built). */
  up(): Promise<void>;
  containers(): Promise<ContainerState[]>;
  logs(service: string): Promise<string>;
  /** The admin URL of the stack's PostgreSQL, reached on its container address (rootful bridge). */
  adminUrl(): Promise<string>;
  /** Stopped and removed: containers, volumes, network. */
  down(): Promise<void>;
}

export function composeStack(context: string, env: { POSTGRES_PASSWORD: string; DB_ROLE_SECRET: string; STORE_PORT: number }): ComposeStack {
  const project = `mfc${randomBytes(3).toString('hex')}`;
  const transcript: string[] = [];
  const replaced: string[] = [];
  const processEnv = containersEnv({ POSTGRES_PASSWORD: env.POSTGRES_PASSWORD, DB_ROLE_SECRET: env.DB_ROLE_SECRET, STORE_PORT: String(env.STORE_PORT) });
  const compose = async (...args: string[]) => {
    const result = await run('podman-compose', ['-p', project, '-f', 'deploy/compose.yaml', ...args], { cwd: context, env: processEnv });
    transcript.push(`$ podman-compose ${args.join(' ')} (exit ${result.status})\n${result.output}`);
    return result;
  };
  const podman = (...args: string[]) => run('podman', args, { env: processEnv });
  const containers = async (): Promise<ContainerState[]> => {
    const listed = await podman('ps', '-a', '--filter', `label=io.podman.compose.project=${project}`, '--format', 'json');
    const rows = JSON.parse(listed.output || '[]') as Array<{ Names: string[]; State: string; ExitCode: number; Labels: Record<string, string> }>;
    // podman 4.3's ps has no restart count: inspect has it.
    const counted = rows.length === 0 ? { output: '' } : await podman('inspect', '--format', '{{.Name}} {{.RestartCount}}', ...rows.map((row) => row.Names[0]));
    const restarts = new Map(counted.output.split('\n').map((line) => line.trim().split(' ')).filter((pair) => pair.length === 2).map(([name, count]) => [name, Number(count)]));
    return rows.map((row) => ({ service: row.Labels['com.docker.compose.service'], name: row.Names[0], state: row.State, exitCode: row.ExitCode, restarts: restarts.get(row.Names[0]) ?? 0 }));
  };
  const nameOf = async (service: string) => {
    const found = (await containers()).find((each) => each.service === service);
    if (!found) throw new Error(`no container of service ${service} in project ${project}`);
    return found.name;
  };
  return {
    project,
    url: `http://127.0.0.1:${env.STORE_PORT}`,
    transcript,
    async build(service?: string) {
      const image = storeImageOf(readFileSync(join(context, 'deploy/compose.yaml'), 'utf8'));
      const before = (await podman('image', 'inspect', '--format', '{{.Id}}', image)).output.trim();
      const result = await compose('build', ...(service === undefined ? [] : [service]));
      const after = (await podman('image', 'inspect', '--format', '{{.Id}}', image)).output.trim();
      // The image this build replaced: no tag left, so only disk space (refused while a container uses it).
      if (/^[0-9a-f]{64}$/.test(before) && before !== after) replaced.push(before);
      // podman-compose 1.0 prints each podman command and "exit code: N" after it, but exits 0
      // whatever they answered: a failed build is read from its transcript.
      const codes = [...result.output.matchAll(/^exit code: (\d+)$/gm)].map((match) => Number(match[1]));
      const ok = result.status === 0 && codes.length > 0 && codes.every((code) => code === 0);
      return { ok, output: result.output };
    },
    async up() {
      const result = await compose('up', '-d');
      const failed = [...result.output.matchAll(/^exit code: (\d+)$/gm)].filter((match) => match[1] !== '0');
      if (result.status !== 0 || failed.length > 0) throw new Error(`podman-compose up -d failed:\n${tail(result.output)}`);
    },
    containers,
    async logs(service: string) {
      return (await podman('logs', await nameOf(service))).output;
    },
    async adminUrl() {
      const inspected = await podman('inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', await nameOf('postgres'));
      const address = inspected.output.trim().split(/\s+/)[0];
      if (!address) throw new Error(`the postgres container has no address: ${inspected.output}`);
      return `postgres://postgres:${env.POSTGRES_PASSWORD}@${address}:5432/store`;
    },
    async down() {
      await compose('down', '-v', '-t', '15');
      // podman-compose 1.0 leaves the project's network and may leave volumes a failed start made.
      for (const kind of ['network', 'volume'] as const) {
        const listed = await podman(kind, 'ls', '--filter', `label=io.podman.compose.project=${project}`, '--format', '{{.Name}}');
        for (const name of listed.output.split('\n').map((line) => line.trim()).filter(Boolean)) await podman(kind, 'rm', '-f', name);
      }
      for (const id of replaced) await podman('rmi', id);
      rmSync(context, { recursive: true, force: true });
    },
  };
}
