import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Runs the BUILT store as a user does (`node dist/src/main.js`) in a child
 * process: the black-box view of start-up, configuration errors and signals
 * that an in-process Nest application cannot give.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

/** Process variables the store reads: a test names every one it wants, nothing leaks in from the shell or jest. */
// DB_ROLE_SECRET is inherited when the shell sets one (the tests do not); pass `undefined` to unset it.
// A developer's .env is not read either (ENV_FILE=none) unless a test asks for it.
const STORE_VARIABLE =
  /^(ENV_FILE|MODULES|GATEWAY|PORT|TRANSPORT|NATS_URL|NATS_USER|NATS_PASSWORD|NATS_CREDS|NATS_TLS_.*|NATS_INBOX_PREFIX|DATABASE_URL|[A-Z]+_DATABASE_URL|EMBEDDED_PG_.*|DB_POOL_SIZE|SERVICE_TOKEN|LOG_LEVEL)$/;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnedStore {
  readonly pid: number;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** The HTTP port from the "serving on port N" line; rejects if the process exits first or takes too long. */
  port(timeoutMs?: number): Promise<number>;
  /** Sends `signal` and waits for the exit; rejects (leaving the process to `stopAllStores`) if it takes longer than `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

const running = new Set<ChildProcess>();

/** The built entry point; a clear failure rather than a confusing spawn error when there is no build. */
export function builtMain(): string {
  if (!existsSync(MAIN)) {
    throw new Error(`no build at ${MAIN}: run \`npm run build\` first (\`npm test\` builds before testing)`);
  }
  return MAIN;
}

export interface SpawnOptions {
  /** Run `npm start` (the machine's npm) rather than `node dist/src/main.js`: what a user types. */
  readonly npm?: boolean;
  /**
   * In a process group of its own (pid = group id), as a terminal runs a command: `signalGroup`
   * then sends what Ctrl-C sends, a signal to every process of the group.
   */
  readonly detached?: boolean;
  /** Another build's entry point (a copy of the build, say) instead of `dist/src/main.js`. */
  readonly main?: string;
  /** Another checkout (a copy of the repository, say) to run in, instead of this one. */
  readonly cwd?: string;
  /** With `npm`: its arguments, instead of `start` (e.g. `['run', 'start:dev']`). */
  readonly args?: readonly string[];
}

/** Starts `node dist/src/main.js` with the process variables in `env` (`undefined` unsets one). */
export function spawnStore(env: Record<string, string | undefined>, options: SpawnOptions = {}): SpawnedStore {
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !STORE_VARIABLE.test(name)) childEnv[name] = value;
  }
  for (const [name, value] of Object.entries({ PORT: '0', ENV_FILE: 'none', ...env })) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  // Not detached unless asked: a Ctrl-C on jest reaches the stores too, as it would reach `npm start`.
  const [command, args] = options.npm ? ['npm', [...(options.args ?? ['start'])]] : [process.execPath, [options.main ?? builtMain()]];
  const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  // 'close' rather than 'exit': by then every byte of output has been read.
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const describe = () => `\n--- stdout ---\n${tail(out)}\n--- stderr ---\n${tail(err)}`;

  return {
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    port: (timeoutMs = 60_000) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no "serving on port" line within ${timeoutMs} ms${describe()}`));
        }, timeoutMs);
        const check = () => {
          const match = /serving on port (\d+)/.exec(out);
          if (!match) return;
          cleanup();
          resolve(Number(match[1]));
        };
        const onExit = ({ code, signal }: Exit) => {
          cleanup();
          reject(new Error(`the store exited (code ${code}, signal ${signal}) before serving${describe()}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout.off('data', check);
        };
        child.stdout.on('data', check);
        exited.then(onExit, reject);
        check();
      }),
    stop: async (signal = 'SIGTERM', timeoutMs = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still running ${timeoutMs} ms after ${signal}${describe()}`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, timedOut]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** What a terminal's Ctrl-C does: `signal` to every process of the group of a `detached` store. */
export function signalGroup(store: SpawnedStore, signal: NodeJS.Signals = 'SIGINT'): void {
  process.kill(-store.pid, signal);
}

/** Whether any process of the group of a `detached` store (npm, its shell, node) is still there. */
export function groupAlive(store: SpawnedStore): boolean {
  try {
    process.kill(-store.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs the store until it exits by itself (a start-up failure); kills it if it is still running after `timeoutMs`. */
export async function runStoreToExit(
  env: Record<string, string | undefined>,
  timeoutMs = 20_000,
  options: SpawnOptions = {},
): Promise<Exit & { stdout: string; stderr: string }> {
  const store = spawnStore(env, options);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      store.stop('SIGKILL').catch(() => {});
      reject(new Error(`the store did not exit within ${timeoutMs} ms\n${tail(store.stdout())}\n${tail(store.stderr())}`));
    }, timeoutMs);
  });
  try {
    const exit = await Promise.race([store.exited, timedOut]);
    return { ...exit, stdout: store.stdout(), stderr: store.stderr() };
  } finally {
    clearTimeout(timer);
  }
}

/** Kills every store still running: call from afterAll so that a failed test leaves no process behind. */
export async function stopAllStores(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      const gone = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    }),
  );
}

// Last resort if jest exits with stores still running (e.g. a crashed worker): no orphans.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The pid of the postmaster running on `dataDir`, if one is alive. */
export function postmasterPid(dataDir: string): number | undefined {
  const pidFile = `${dataDir}/postmaster.pid`;
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/**
 * Stops a Postgres left running on `dataDir` (e.g. by a SIGKILLed store): SIGINT
 * is Postgres's "fast shutdown"; SIGKILL after `timeoutMs` as a last resort.
 */
export async function stopPostgresIn(dataDir: string, timeoutMs = 15_000): Promise<void> {
  const pid = postmasterPid(dataDir);
  if (pid === undefined) return;
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** True while `pid` runs; a zombie (exited, not yet reaped by its new parent) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): kill(0) succeeded, so it runs
  }
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
