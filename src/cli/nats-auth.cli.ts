import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoverModules } from '../platform/modules/module-discovery.js';
import { runCli, UsageError, wantsHelp } from './run-cli.js';
import { authorizationConfig, defaultUsers, generatePassword, type NatsServiceUser } from '../platform/transport/nats-authorization.js';
import { loadEnvFile } from '../platform/config/env-file.js';

const USAGE = `usage: npm run nats-auth -- [--prefix mf] [--user NAME=MODULE,...[:gateway]]... [--env-dir DIR]

Prints the NATS server's authorization block for a deployment: one user per kind of process,
allowed to serve only its own modules' calls and to answer only into the deployment's inboxes,
to send only the operations its code declares (its modules' calls; a gateway, what the HTTP API
calls), to read only its own replies, and to publish and consume only its own events, with
consumers on their own filters (ADR 21).

--prefix   NATS_SUBJECT_PREFIX of the deployment (default mf)
--user     a process kind: NAME=the modules it hosts (MODULES), ':gateway' when it serves the
           public API (GATEWAY=on). Repeat it. Default: one user per module and 'gateway=:gateway'.
--env-dir  also write DIR/<user>.env with NATS_USER and NATS_PASSWORD for each (mode 600)

Passwords are random, or NATS_PASSWORD_<USER> from the environment when set.`;

async function main(argv: readonly string[]): Promise<void> {
  loadEnvFile(); // .env in the working directory, under the real environment
  if (wantsHelp(argv)) {
    console.log(USAGE);
    return;
  }
  const modules = await discoverModules();
  const names = modules.map((m) => m.definition.name);
  let prefix = 'mf';
  let envDir: string | undefined;
  const specs: Array<Omit<NatsServiceUser, 'password'>> = [];
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--prefix' && value !== undefined) prefix = argv[++i];
    else if (argv[i] === '--env-dir' && value !== undefined) envDir = argv[++i];
    else if (argv[i] === '--user' && value !== undefined) specs.push(parseUser(argv[++i], names));
    else throw new UsageError(`unknown or incomplete argument '${argv[i]}' (see --help)`);
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) throw new UsageError(`--prefix: expected 1-64 characters of A-Z, a-z, 0-9, _ and -, got '${prefix}'`);
  const users = (specs.length > 0 ? specs : defaultUsers(modules)).map((spec) => ({
    ...spec,
    password: process.env[`NATS_PASSWORD_${spec.user.toUpperCase().replaceAll('-', '_')}`] || generatePassword(),
  }));
  const seen = new Set<string>();
  for (const { user } of users) {
    if (seen.has(user)) throw new UsageError(`--user: '${user}' is given twice`);
    seen.add(user);
  }
  process.stdout.write(authorizationConfig(users, modules, prefix));
  if (envDir !== undefined) {
    mkdirSync(envDir, { recursive: true });
    for (const { user, password } of users) {
      writeFileSync(join(envDir, `${user}.env`), `NATS_USER=${user}\nNATS_PASSWORD=${password}\n`, { mode: 0o600 });
    }
    console.error(`nats-auth: wrote ${users.length} credential files to ${envDir}`);
  }
}

function parseUser(raw: string, known: readonly string[]): Omit<NatsServiceUser, 'password'> {
  const match = /^([A-Za-z0-9_-]{1,64})=([a-z0-9_,]*)(:gateway)?$/.exec(raw);
  if (!match) throw new UsageError(`--user: expected NAME=module,module[:gateway], got '${raw}'`);
  const modules = match[2].split(',').filter((name) => name.length > 0);
  for (const name of modules) {
    if (!known.includes(name)) throw new UsageError(`--user ${match[1]}: unknown module '${name}' (known modules: ${known.join(', ')})`);
  }
  return { user: match[1], modules, gateway: match[3] !== undefined };
}

runCli('nats-auth', main);
