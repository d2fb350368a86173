import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * podman as this machine runs it (issue 26, item 7): as root, with `runc` (crun fails on this
 * kernel's hybrid cgroups) and container ulimits no higher than nofile 20000 / nproc 32768 (the
 * host's maximum is refused inside a container here). These settings go in a containers.conf
 * of the test's own, given through CONTAINERS_CONF, so the host's configuration is untouched.
 */
export const CONTAINERS_CONF = join(tmpdir(), 'monolith-first-containers.conf');

export function containersEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  mkdirSync(tmpdir(), { recursive: true });
  writeFileSync(
    CONTAINERS_CONF,
    ['[containers]', 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]', '[engine]', 'runtime = "runc"', ''].join('\n'),
  );
  return { ...process.env, CONTAINERS_CONF, ...extra };
}

const PACKAGES = ['podman', 'podman-compose', 'runc', 'debootstrap'];
const COMMANDS = ['podman', 'podman-compose', 'runc', 'debootstrap'];

function missing(): string[] {
  return COMMANDS.filter((command) => spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status !== 0);
}

/**
 * Why podman cannot run the image here, or undefined when it can. Under CI=true as root, what is
 * missing is installed from Debian first (CI runs every test); elsewhere (a user's laptop) the
 * caller skips loudly with this reason.
 */
export function podmanUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `podman as root on Linux is needed (this is ${process.platform})`;
  const isRoot = process.getuid?.() === 0;
  let absent = missing();
  if (absent.length > 0 && process.env.CI === 'true' && isRoot) {
    const install = spawnSync('sh', ['-c', `apt-get -o DPkg::Lock::Timeout=600 update -q && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q ${PACKAGES.join(' ')}`], {
      encoding: 'utf8',
    });
    if (install.status !== 0) return `installing ${PACKAGES.join(' ')} failed: ${install.stderr.trim().split('\n').at(-1)}`;
    absent = missing();
  }
  if (absent.length > 0) return `${absent.join(', ')} not installed (Debian: apt-get install ${PACKAGES.join(' ')})`;
  // Rootless podman needs subuids, and debootstrap needs root: the trial ran as root only.
  if (!isRoot) return 'the image test runs podman as root (debootstrap and rootful networking need it)';
  const info = spawnSync('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], { encoding: 'utf8', env: containersEnv() });
  if (info.status !== 0) return `podman info failed: ${info.stderr.trim().split('\n').at(-1)}`;
  return undefined;
}

export interface Ran {
  readonly status: number;
  readonly output: string;
}

/**
 * Runs a command asynchronously (a cold build takes minutes: jest's timers keep running), its
 * stdout and stderr interleaved into one text, as a user reads them in a terminal.
 */
export function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? containersEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? 1, output: Buffer.concat(chunks).toString('utf8') }));
    child.stdin.end(options.input ?? '');
  });
}

/** As `run`, but a non-zero exit is an error naming the command and the end of its output. */
export async function runOk(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${result.status}:\n${tail(result.output)}`);
  return result.output;
}

export function tail(text: string, lines = 40): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
