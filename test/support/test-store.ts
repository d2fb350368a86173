import { type AppConfig, loadConfig } from '../../src/platform/config/app-config.js';
import { type StoreApplication, startStoreApplication } from '../../src/platform/application/store-application.js';
import { DEFAULT_MESSAGING_OPTIONS, type MessagingOptions } from '../../src/platform/config/messaging-options.js';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface TestStore {
  /** Base URL of the running store's HTTP server (real HTTP on loopback). */
  readonly url: string;
  readonly config: AppConfig;
  readonly database: TestDatabase;
  readonly application: StoreApplication;
  close(): Promise<void>;
}

/**
 * Starts the store in this process, exactly as `npm start` composes it, on a
 * fresh database and a free port. `env` holds process variables (topology.md).
 */
export interface TestStoreOptions {
  /** Another `src/modules` folder (test fixtures); default: the store's own modules. */
  readonly modulesRoot?: string;
  /** Re-use a database (a restart); it is then not dropped on close. */
  readonly database?: TestDatabase;
  readonly messaging?: Partial<MessagingOptions>;
}

/** Fast retries so that tests of failure paths take milliseconds, not minutes. */
export const TEST_MESSAGING: MessagingOptions = {
  ...DEFAULT_MESSAGING_OPTIONS,
  maxAttempts: 4,
  baseBackoffMs: 10,
  maxBackoffMs: 50,
  pollIntervalMs: 200,
  leaseMs: 2_000,
};

export async function startTestStore(env: Record<string, string> = {}, options: TestStoreOptions = {}): Promise<TestStore> {
  const database = options.database ?? (await createTestDatabase());
  const ownsDatabase = options.database === undefined;
  const modules = await discoverModules(options.modulesRoot);
  const config = loadConfig(
    { DATABASE_URL: database.url, PORT: '0', LOG_LEVEL: 'error', DB_ROLE_SECRET: process.env.DB_ROLE_SECRET, ...env },
    modules.map((module) => module.definition.name),
  );
  try {
    const application = await startStoreApplication(config, modules, {
      messaging: { ...TEST_MESSAGING, ...options.messaging },
    });
    return {
      url: application.url,
      config,
      database,
      application,
      close: async () => {
        await application.close();
        if (ownsDatabase) await database.drop();
      },
    };
  } catch (error) {
    if (ownsDatabase) await database.drop();
    throw error;
  }
}

/** A JSON request against the store, answering status, headers and parsed body. */
export async function http(
  store: { url: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${store.url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text so the assertion shows it
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
