import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from './configuration.error.js';
import { loadEnvFile } from './env-file.js';

describe('loadEnvFile (.env)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-env-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds the variables of .env in the working directory; the real environment wins', () => {
    writeFileSync(join(dir, '.env'), '# a comment\nPORT=3100\nLOG_LEVEL=debug\nCARRIER_WEBHOOK_SECRET="with spaces and #"\n');
    const env: NodeJS.ProcessEnv = { LOG_LEVEL: 'warn' };
    expect(loadEnvFile(env, dir)).toBe(join(dir, '.env'));
    expect(env).toEqual({ PORT: '3100', LOG_LEVEL: 'warn', CARRIER_WEBHOOK_SECRET: 'with spaces and #' });
  });

  it('a variable set empty in the real environment stays empty (set is set)', () => {
    writeFileSync(join(dir, '.env'), 'MODULES=inventory\n');
    const env: NodeJS.ProcessEnv = { MODULES: '' };
    loadEnvFile(env, dir);
    expect(env.MODULES).toBe('');
  });

  it('no .env: nothing read, nothing changed', () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    const env: NodeJS.ProcessEnv = { PORT: '1' };
    expect(loadEnvFile(env, empty)).toBeUndefined();
    expect(env).toEqual({ PORT: '1' });
  });

  it('ENV_FILE names another file; ENV_FILE=none reads none', () => {
    writeFileSync(join(dir, '.env'), 'PORT=3100\n');
    writeFileSync(join(dir, 'staging.env'), 'PORT=3200\n');
    const named: NodeJS.ProcessEnv = { ENV_FILE: 'staging.env' };
    expect(loadEnvFile(named, dir)).toBe(join(dir, 'staging.env'));
    expect(named.PORT).toBe('3200');
    const none: NodeJS.ProcessEnv = { ENV_FILE: 'none' };
    expect(loadEnvFile(none, dir)).toBeUndefined();
    expect(none.PORT).toBeUndefined();
  });

  it('an ENV_FILE that cannot be read is a one-line configuration error', () => {
    expect(() => loadEnvFile({ ENV_FILE: 'missing.env' }, dir)).toThrow(ConfigurationError);
    expect(() => loadEnvFile({ ENV_FILE: 'missing.env' }, dir)).toThrow(/^ENV_FILE: cannot read .*missing\.env \(ENOENT\)$/);
  });
});
