import { loadConfig } from './app-config.js';
import { ConfigurationError } from './configuration.error.js';

const KNOWN = ['inventory', 'orders', 'payments', 'shipping'];

describe('loadConfig', () => {
  it('defaults to the monolith: every module, gateway on, port 3000, NATS, embedded Postgres', () => {
    const config = loadConfig({}, KNOWN);
    expect(config.hostedModules).toEqual(KNOWN);
    expect(config.gateway).toBe(true);
    expect(config.port).toBe(3000);
    expect(config.transport).toBe('nats');
    expect(config.natsUrl).toBe('nats://127.0.0.1:4222');
    expect(config.databaseUrl).toBeUndefined();
  });

  it('reads MODULES as a comma list in discovery order, and empty as no module', () => {
    expect(loadConfig({ MODULES: ' shipping, inventory ' }, KNOWN).hostedModules).toEqual(['inventory', 'shipping']);
    expect(loadConfig({ MODULES: '' }, KNOWN).hostedModules).toEqual([]);
  });

  it('gives a module its own database URL over DATABASE_URL', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://a@h/db', INVENTORY_DATABASE_URL: 'postgresql://b@h2/inv' }, KNOWN);
    expect(config.databaseUrl).toBe('postgres://a@h/db');
    expect(config.moduleDatabaseUrls).toEqual({ inventory: 'postgresql://b@h2/inv' });
  });

  it.each([
    [{ MODULES: 'inventory,billing' }, "MODULES: unknown module 'billing' (known modules: inventory, orders, payments, shipping)"],
    [{ MODULES: 'orders,orders' }, "MODULES: module 'orders' is listed twice"],
    [{ PORT: 'abc' }, "PORT: expected an integer from 0 to 65535, got 'abc'"],
    [{ PORT: '70000' }, "PORT: expected an integer from 0 to 65535, got '70000'"],
    [{ PORT: '-1' }, "PORT: expected an integer from 0 to 65535, got '-1'"],
    [{ GATEWAY: 'yes' }, "GATEWAY: expected 'on' or 'off', got 'yes'"],
    [{ TRANSPORT: 'carrier-pigeon' }, "TRANSPORT: unsupported transport 'carrier-pigeon' (supported: nats)"],
    [{ NATS_URL: 'http://x' }, "NATS_URL: expected a nats:// or tls:// or ws:// or wss:// URL, got 'http://'"],
    [{ DATABASE_URL: 'mysql://x/db' }, "DATABASE_URL: expected a postgres:// URL, got 'mysql://'"],
    [{ DATABASE_URL: 'postgres://x' }, 'DATABASE_URL: the URL names no database (expected postgres://user:password@host:port/database)'],
    [{ ORDERS_DATABASE_URL: 'not a url' }, 'ORDERS_DATABASE_URL: not a valid URL (expected postgres://user:password@host:port/database)'],
    [{ LOG_LEVEL: 'loud' }, "LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, got 'loud'"],
    [{ CONSOLE_TOKEN: 'short' }, 'CONSOLE_TOKEN: expected 16 to 512 characters without white space (e.g. `openssl rand -hex 24`)'],
    [{ CONSOLE_TOKEN: 'sixteen chars but spaced' }, 'CONSOLE_TOKEN: expected 16 to 512 characters without white space (e.g. `openssl rand -hex 24`)'],
  ])('refuses %j with one clear line', (env, message) => {
    expect(() => loadConfig(env, KNOWN)).toThrow(new ConfigurationError(message));
  });

  it('turns the operator console on with CONSOLE_TOKEN only (ADR 40), never echoing it', () => {
    expect(loadConfig({}, KNOWN).consoleToken).toBeUndefined();
    expect(loadConfig({ CONSOLE_TOKEN: ' ' }, KNOWN).consoleToken).toBeUndefined();
    expect(loadConfig({ CONSOLE_TOKEN: '0123456789abcdef' }, KNOWN).consoleToken).toBe('0123456789abcdef');
    expect(() => loadConfig({ CONSOLE_TOKEN: 'tooShort' }, KNOWN)).toThrow(/^(?!.*tooShort)/);
  });

  it('never echoes a database password in an error', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:s3cret@h/db' }, KNOWN)).toThrow(/^(?!.*s3cret)/);
  });
});
