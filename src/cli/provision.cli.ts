import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfig, redactUrl } from '../platform/config/app-config.js';
import { ConfigurationError } from '../platform/config/configuration.error.js';
import { ModuleDatabases } from '../platform/application/module-databases.js';
import { moduleRoleName } from '../platform/database/provisioning.js';
import { discoverModules } from '../platform/modules/module-discovery.js';

const USAGE = `usage: npm run provision [-- --modules a,b] [--redacted]

Run once, by an operator, with an admin URL (DATABASE_URL or <MODULE>_DATABASE_URL, a user
that may create roles) and DB_ROLE_SECRET: creates each module's role and schema, runs its
migrations as that role, and prints the one variable each service then needs instead of the
admin URL:

  INVENTORY_DATABASE_URL=postgres://inventory_module:<password>@host:5432/store
  ...

--modules  the modules to provision (default: every module, or MODULES when set)
--redacted print the URLs with the password masked (to check, not to deploy)`;

/** Provisions module roles and schemas with admin rights, so that services never hold them (ADR 15). */
async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  let modulesArg: string | undefined;
  let redacted = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--modules') modulesArg = argv[++i] ?? '';
    else if (argv[i] === '--redacted') redacted = true;
    else throw new ConfigurationError(`unknown argument '${argv[i]}' (see --help)`);
  }
  const modules = await discoverModules();
  const names = modules.map((m) => m.definition.name);
  Logger.overrideLogger(['error']);
  const config = loadConfig({ ...process.env, ...(modulesArg === undefined ? {} : { MODULES: modulesArg }) }, names);
  if (config.databaseUrl === undefined && config.hostedModules.some((name) => config.moduleDatabaseUrls[name] === undefined)) {
    throw new ConfigurationError('DATABASE_URL: required (the admin URL of the server to provision; the embedded server provisions itself at `npm start`)');
  }
  const hosted = modules.filter((m) => config.hostedModules.includes(m.definition.name));
  const databases = await ModuleDatabases.open(config, hosted);
  try {
    for (const { definition } of hosted) {
      const url = databases.connectionUrl(definition.name);
      if (new URL(url).username !== moduleRoleName(definition.name)) {
        throw new ConfigurationError(
          `${definition.name}: the database user cannot create roles; provisioning needs an admin URL (a superuser or a user WITH CREATEROLE)`,
        );
      }
      console.log(`${definition.name.toUpperCase()}_DATABASE_URL=${redacted ? redactUrl(url) : url}`);
    }
  } finally {
    await databases.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`provision: ${((error as Error)?.message ?? String(error)).split('\n')[0]}`);
  process.exit(1);
});
