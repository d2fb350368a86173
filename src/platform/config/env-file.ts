import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigurationError } from './configuration.error.js';

/**
 * Local settings without exporting them in every terminal: the variables of `.env` in the working
 * directory (the file ENV_FILE names instead; ENV_FILE=none reads none) are added to `env`, never
 * over one the real environment already has, so a variable given on the command line wins.
 * `.env.example` lists every variable with its default. A missing `.env` is no error; a missing
 * ENV_FILE is (it was asked for). Returns the file read, if any.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | undefined {
  const named = env.ENV_FILE?.trim();
  if (named === 'none') return undefined;
  const path = resolve(cwd, named || '.env');
  if (!named && !existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`ENV_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] === undefined) env[name] = value;
  }
  return path;
}
