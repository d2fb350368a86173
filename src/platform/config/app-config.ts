import { DEFAULT_MESSAGING_OPTIONS, type MessagingOptions } from './messaging-options.js';
import { ConfigurationError } from './configuration.error.js';

/** The process variables of docs/topology.md, parsed and validated once. */
export interface AppConfig {
  /** Every module the codebase has, in discovery order. */
  readonly knownModules: readonly string[];
  /** The modules this process hosts (MODULES). */
  readonly hostedModules: readonly string[];
  /** GATEWAY=on: serve the public HTTP API. */
  readonly gateway: boolean;
  readonly port: number;
  readonly transport: 'nats';
  readonly natsUrl: string;
  /** First token of every NATS subject, so that deployments sharing a NATS server never cross (NATS_SUBJECT_PREFIX). */
  readonly natsSubjectPrefix: string;
  /** Deadline of one attempt of a call to a module in another process (REMOTE_CALL_TIMEOUT_MS). */
  readonly remoteCallTimeoutMs: number;
  /** DATABASE_URL; undefined means an embedded Postgres started by this process. */
  readonly databaseUrl: string | undefined;
  /** `<MODULE>_DATABASE_URL` for hosted modules that set one. */
  readonly moduleDatabaseUrls: Readonly<Record<string, string>>;
  /** `relocatable`: the default data directory, which a root-run store may keep elsewhere (EMBEDDED_PG_DIR unset). */
  readonly embeddedPostgres: { readonly port: number; readonly dataDir: string; readonly relocatable: boolean };
  readonly dbPoolSize: number;
  /**
   * How long a starting process waits for a database that refuses or drops its connections (a server
   * restarting) before it gives up with one line (DATABASE_STARTUP_WAIT_MS; 0: at once). Authentication
   * failures and a missing database are not waited for: no restart mends them.
   */
  readonly databaseStartupWaitMs: number;
  /** The same for NATS, in a process of a distributed topology (NATS_STARTUP_WAIT_MS; 0: at once); refused credentials are not waited for. */
  readonly natsStartupWaitMs: number;
  readonly serviceToken: string | undefined;
  /** CONSOLE_TOKEN: the operator console's admin token; the console is off without one (ADR 40). */
  readonly consoleToken: string | undefined;
  /** NATS's own authentication of this process (NATS_USER/NATS_PASSWORD, NATS_CREDS, NATS_TLS_*; ADR 15). */
  readonly natsCredentials: NatsCredentialsConfig | undefined;
  /** Secret from which module role passwords are derived (DB_ROLE_SECRET). */
  readonly dbRoleSecret: string | undefined;
  readonly logLevel: LogLevel;
  readonly messaging: MessagingOptions;
  /** How the deployment's event stream is kept, when modules run in several processes (ADR 12). */
  readonly eventStream: { readonly maxAgeMs: number; readonly replicas: number };
  /** The environment this was read from, for modules' own settings (ModuleSettings). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface NatsCredentialsConfig {
  readonly user?: string;
  readonly password?: string;
  readonly credsFile?: string;
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  readonly inboxPrefix?: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_EMBEDDED_PG_PORT = 54329;

export function loadConfig(env: Env, knownModules: readonly string[]): AppConfig {
  const hostedModules = parseModules(env.MODULES, knownModules);
  const databaseUrl = optionalDatabaseUrl(env, 'DATABASE_URL');
  const moduleDatabaseUrls: Record<string, string> = {};
  for (const name of knownModules) {
    const variable = `${name.toUpperCase()}_DATABASE_URL`;
    const url = optionalDatabaseUrl(env, variable);
    if (url !== undefined) moduleDatabaseUrls[name] = url;
  }
  return {
    knownModules,
    hostedModules,
    gateway: parseOnOff(env.GATEWAY, 'GATEWAY', true),
    port: parsePort(env.PORT, 'PORT', 3000),
    transport: parseTransport(env.TRANSPORT),
    natsUrl: parseUrl(env.NATS_URL, 'NATS_URL', 'nats://127.0.0.1:4222', ['nats:', 'tls:', 'ws:', 'wss:']),
    natsSubjectPrefix: parseSubjectToken(env.NATS_SUBJECT_PREFIX, 'NATS_SUBJECT_PREFIX', 'mf'),
    remoteCallTimeoutMs: parseInteger(env.REMOTE_CALL_TIMEOUT_MS, 'REMOTE_CALL_TIMEOUT_MS', 5_000, 10, 600_000),
    databaseUrl,
    moduleDatabaseUrls,
    embeddedPostgres: {
      port: parsePort(env.EMBEDDED_PG_PORT, 'EMBEDDED_PG_PORT', DEFAULT_EMBEDDED_PG_PORT, { allowZero: false }),
      dataDir: nonEmpty(env.EMBEDDED_PG_DIR) ?? '.data/postgres',
      relocatable: nonEmpty(env.EMBEDDED_PG_DIR) === undefined,
    },
    dbPoolSize: parseInteger(env.DB_POOL_SIZE, 'DB_POOL_SIZE', 5, 1, 100),
    databaseStartupWaitMs: parseInteger(env.DATABASE_STARTUP_WAIT_MS, 'DATABASE_STARTUP_WAIT_MS', 30_000, 0, 3_600_000),
    natsStartupWaitMs: parseInteger(env.NATS_STARTUP_WAIT_MS, 'NATS_STARTUP_WAIT_MS', 30_000, 0, 3_600_000),
    serviceToken: nonEmpty(env.SERVICE_TOKEN),
    consoleToken: parseConsoleToken(env.CONSOLE_TOKEN),
    natsCredentials: parseNatsCredentials(env),
    dbRoleSecret: nonEmpty(env.DB_ROLE_SECRET),
    logLevel: parseLogLevel(env.LOG_LEVEL),
    messaging: parseMessaging(env),
    eventStream: {
      maxAgeMs: parseInteger(env.EVENT_STREAM_MAX_AGE_HOURS, 'EVENT_STREAM_MAX_AGE_HOURS', 168, 1, 24 * 365) * 3600_000,
      replicas: parseInteger(env.EVENT_STREAM_REPLICAS, 'EVENT_STREAM_REPLICAS', 1, 1, 5),
    },
    env: { ...env },
  };
}

function parseNatsCredentials(env: Env): NatsCredentialsConfig | undefined {
  const user = nonEmpty(env.NATS_USER);
  const password = env.NATS_PASSWORD === undefined || env.NATS_PASSWORD === '' ? undefined : env.NATS_PASSWORD;
  const credsFile = nonEmpty(env.NATS_CREDS);
  if (password !== undefined && user === undefined) throw new ConfigurationError('NATS_PASSWORD: set without NATS_USER');
  if (user !== undefined && password === undefined) throw new ConfigurationError(`NATS_USER: '${user}' is set without NATS_PASSWORD`);
  if (user !== undefined && credsFile !== undefined) throw new ConfigurationError('NATS_CREDS: set together with NATS_USER; use one of them');
  if (user !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(user)) {
    throw new ConfigurationError(`NATS_USER: expected 1-64 characters of A-Z, a-z, 0-9, _ and -, got '${user}'`);
  }
  const tls = { caFile: nonEmpty(env.NATS_TLS_CA), certFile: nonEmpty(env.NATS_TLS_CERT), keyFile: nonEmpty(env.NATS_TLS_KEY) };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConfigurationError('NATS_TLS_CERT, NATS_TLS_KEY: set both (a client certificate and its key) or neither');
  }
  const hasTls = Object.values(tls).some((value) => value !== undefined);
  // Absent, the transport uses `_INBOX.<NATS_SUBJECT_PREFIX>.<NATS_USER>` (ADR 21).
  const inboxPrefix = nonEmpty(env.NATS_INBOX_PREFIX);
  if (inboxPrefix !== undefined && !/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(inboxPrefix)) {
    throw new ConfigurationError(`NATS_INBOX_PREFIX: expected dot-separated tokens without wildcards, got '${inboxPrefix}'`);
  }
  if (user === undefined && credsFile === undefined && !hasTls && inboxPrefix === undefined) return undefined;
  const strip = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
  return strip({ user, password, credsFile, tls: hasTls ? strip(tls) : undefined, inboxPrefix });
}

/** An admin token guessable in a lifetime is no token: at least 16 characters, no white space. */
function parseConsoleToken(raw: string | undefined): string | undefined {
  const token = nonEmpty(raw);
  if (token === undefined) return undefined;
  if (token.length < 16 || token.length > 512 || /\s/.test(token)) {
    throw new ConfigurationError('CONSOLE_TOKEN: expected 16 to 512 characters without white space (e.g. `openssl rand -hex 24`)');
  }
  return token;
}

/** Whether NATS itself authenticates this process (then SERVICE_TOKEN is optional). */
export function natsAuthenticates(config: AppConfig): boolean {
  return config.natsCredentials?.user !== undefined || config.natsCredentials?.credsFile !== undefined;
}

function parseModules(raw: string | undefined, known: readonly string[]): string[] {
  if (raw === undefined) return [...known];
  const names = raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  const seen = new Set<string>();
  for (const name of names) {
    if (!known.includes(name)) {
      throw new ConfigurationError(`MODULES: unknown module '${name}' (known modules: ${known.join(', ')})`);
    }
    if (seen.has(name)) throw new ConfigurationError(`MODULES: module '${name}' is listed twice`);
    seen.add(name);
  }
  // Keep discovery order so that start-up is deterministic whatever order MODULES uses.
  return known.filter((name) => seen.has(name));
}

function parseMessaging(env: Env): MessagingOptions {
  const d = DEFAULT_MESSAGING_OPTIONS;
  const hour = 3600_000;
  return {
    ...d,
    maxAttempts: parseInteger(env.OUTBOX_MAX_ATTEMPTS, 'OUTBOX_MAX_ATTEMPTS', d.maxAttempts, 1, 1000),
    baseBackoffMs: parseInteger(env.OUTBOX_BACKOFF_MS, 'OUTBOX_BACKOFF_MS', d.baseBackoffMs, 1, 3600_000),
    pollIntervalMs: parseInteger(env.OUTBOX_POLL_MS, 'OUTBOX_POLL_MS', d.pollIntervalMs, 10, 3600_000),
    retentionMs: parseInteger(env.OUTBOX_RETENTION_HOURS, 'OUTBOX_RETENTION_HOURS', d.retentionMs / hour, 0, 24 * 365) * hour,
  };
}

function parseSubjectToken(raw: string | undefined, variable: string, fallback: string): string {
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw.trim())) {
    throw new ConfigurationError(`${variable}: expected 1-64 characters of A-Z, a-z, 0-9, _ and -, got '${raw}'`);
  }
  return raw.trim();
}

function parseOnOff(raw: string | undefined, variable: string, fallback: boolean): boolean {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim().toLowerCase();
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new ConfigurationError(`${variable}: expected 'on' or 'off', got '${raw}'`);
}

export function parseInteger(raw: string | undefined, variable: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim();
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigurationError(`${variable}: expected an integer from ${min} to ${max}, got '${raw}'`);
  }
  return Number(value);
}

function parsePort(raw: string | undefined, variable: string, fallback: number, { allowZero = true }: { allowZero?: boolean } = {}): number {
  // Port 0 asks the OS for a free port: useful for tests and side-by-side topologies.
  return parseInteger(raw, variable, fallback, allowZero ? 0 : 1, 65535);
}

function parseTransport(raw: string | undefined): 'nats' {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'nats') return 'nats';
  throw new ConfigurationError(`TRANSPORT: unsupported transport '${raw}' (supported: nats)`);
}

function parseUrl(raw: string | undefined, variable: string, fallback: string, protocols: readonly string[]): string {
  if (raw === undefined || raw.trim() === '') return fallback;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigurationError(`${variable}: not a valid URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigurationError(`${variable}: expected a ${protocols.map((p) => `${p}//`).join(' or ')} URL, got '${url.protocol}//'`);
  }
  return raw.trim();
}

function optionalDatabaseUrl(env: Env, variable: string): string | undefined {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return undefined;
  // The URL may carry a password: never echo it back in an error.
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigurationError(`${variable}: not a valid URL (expected postgres://user:password@host:port/database)`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigurationError(`${variable}: expected a postgres:// URL, got '${url.protocol}//'`);
  }
  if (url.pathname.length <= 1) {
    throw new ConfigurationError(`${variable}: the URL names no database (expected postgres://user:password@host:port/database)`);
  }
  return raw.trim();
}

function nonEmpty(raw: string | undefined): string | undefined {
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

function parseLogLevel(raw: string | undefined): LogLevel {
  if (raw === undefined || raw.trim() === '') return 'info';
  const value = raw.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new ConfigurationError(`LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got '${raw}'`);
}

/** Whether some module lives in another process: then a transport is needed, and a service token. */
export function isDistributed(config: AppConfig): boolean {
  return config.hostedModules.length < config.knownModules.length;
}

/** The URL a hosted module's database is provisioned through, or undefined for the embedded server. */
export function databaseUrlFor(config: AppConfig, module: string): string | undefined {
  return config.moduleDatabaseUrls[module] ?? config.databaseUrl;
}

/** Redacts the password of a database URL for logs. */
export function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = '***';
  return url.toString();
}
