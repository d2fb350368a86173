import { createHmac } from 'node:crypto';
import { Logger } from '@nestjs/common';
import pg from 'pg';
import { ConfigurationError } from '../config/configuration.error.js';
import { GuardedClient } from './guarded-client.js';

/** The login role a module's code runs as. It owns the module's schema and nothing else. */
export function moduleRoleName(module: string): string {
  return `${module}_module`;
}

/**
 * Module roles get a password derived from a deployment secret, so that every
 * process of a deployment computes the same one and none is stored anywhere.
 */
export function moduleRolePassword(secret: string, module: string): string {
  return createHmac('sha256', secret).update(moduleRoleName(module)).digest('hex').slice(0, 40);
}

/**
 * The secret module passwords derive from: DB_ROLE_SECRET when set, else the
 * admin URL's password (whoever holds it is the database's administrator
 * anyway). With neither, the passwords would follow from public facts: refused.
 */
export function roleSecret(adminUrl: string, configured: string | undefined): string {
  if (configured !== undefined) return configured;
  const password = decodeURIComponent(new URL(adminUrl).password);
  if (password.length > 0) return `${password}:monolith-first`;
  throw new ConfigurationError(
    'DB_ROLE_SECRET: required to create module roles through a database URL without a password (their passwords derive from it); ' +
      'set a long random value, the same wherever roles are provisioned, or provision once with `npm run provision` and give each service its role URL',
  );
}

export interface ProvisionedModule {
  /** How the module connects: as its own role, to the same server and database. */
  readonly url: string;
  /** False when the given user could not create roles and is used as it is. */
  readonly isolatedByRole: boolean;
}

const DUPLICATE_OBJECT = '42710';
const UNIQUE_VIOLATION = '23505';
const CONCURRENT_UPDATE = 'XX000'; // "tuple concurrently updated" on pg_authid

/**
 * Creates (idempotently) the module's role and schema through `adminUrl`:
 * the role may log in, owns schema `<module>`, has it as its search_path, and
 * has no privilege on any other schema: PUBLIC's rights on `public` are revoked.
 */
export async function provisionModule(adminUrl: string, module: string, secret: () => string): Promise<ProvisionedModule> {
  const client = new GuardedClient({ connectionString: adminUrl, application_name: 'monolith-first:provisioning' });
  await client.connect();
  try {
    const me = await client.query<{ rolsuper: boolean; rolcreaterole: boolean; db: string }>(
      'SELECT rolsuper, rolcreaterole, current_database() AS db FROM pg_roles WHERE rolname = current_user',
    );
    const { rolsuper, rolcreaterole, db } = me.rows[0];
    if (!rolsuper && !rolcreaterole) return await asGivenRole(client, adminUrl, module);
    const role = moduleRoleName(module);
    const password = moduleRolePassword(secret(), module);
    await retryOnRace(() => ensureRole(client, role, password, !rolsuper));
    await client.query('BEGIN');
    // One provisioning at a time per database: several processes may start together.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('monolith-first:provisioning'))");
    await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${ident(db)} TO ${ident(role)}`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(module)} AUTHORIZATION ${ident(role)}`);
    await client.query(`ALTER SCHEMA ${ident(module)} OWNER TO ${ident(role)}`);
    await client.query(`REVOKE ALL ON SCHEMA ${ident(module)} FROM PUBLIC`);
    await client.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
    await client.query(`ALTER ROLE ${ident(role)} IN DATABASE ${ident(db)} SET search_path = ${ident(module)}`);
    await client.query('COMMIT');
    const url = new URL(adminUrl);
    url.username = role;
    url.password = password;
    return { url: url.toString(), isolatedByRole: true };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The operator handed us a role that cannot create roles: the module's own
 * (provisioned by `npm run provision`), or one of their making. It is used as
 * it is. Its schema must be there and its own, or creatable by it.
 */
async function asGivenRole(client: pg.Client, url: string, module: string): Promise<ProvisionedModule> {
  const { rows } = await client.query<{ owner: string | null; mine: boolean | null; can_create: boolean; user: string }>(
    `SELECT n.nspowner::regrole::text AS owner, pg_has_role(current_user, n.nspowner, 'USAGE') AS mine,
            has_database_privilege(current_database(), 'CREATE') AS can_create, current_user AS user
       FROM (SELECT 1) one LEFT JOIN pg_namespace n ON n.nspname = $1`,
    [module],
  );
  const { owner, mine, can_create: canCreate, user } = rows[0];
  if (owner === null) {
    if (!canCreate) {
      throw new ConfigurationError(
        `database of module '${module}': schema '${module}' does not exist and '${user}' may not create it: run \`npm run provision\` with the admin URL first`,
      );
    }
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(module)}`);
  } else if (!mine) {
    throw new ConfigurationError(
      `database of module '${module}': schema '${module}' belongs to '${owner}', not to '${user}': give the module its own role's URL (see \`npm run provision\`)`,
    );
  }
  const isolated = user === moduleRoleName(module);
  if (!isolated) {
    new Logger('Provisioning').warn(`${module}: connecting as '${user}', which cannot create roles; isolation is the operator's grants`);
  }
  return { url, isolatedByRole: isolated };
}

async function ensureRole(client: pg.Client, role: string, password: string, grantToMe: boolean): Promise<void> {
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  // The password is derived, not secret from the server's point of view, but keep it out of logs.
  const literal = client.escapeLiteral(password);
  const attributes = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
  if (exists.rowCount === 0) {
    await client.query(`CREATE ROLE ${ident(role)} ${attributes} PASSWORD ${literal}`);
  } else {
    await client.query(`ALTER ROLE ${ident(role)} ${attributes} PASSWORD ${literal}`);
  }
  // A non-superuser creator must be a member to hand the role a schema.
  if (grantToMe) await client.query(`GRANT ${ident(role)} TO current_user`);
}

async function retryOnRace(action: () => Promise<void>, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      const code = (error as { code?: string }).code;
      const race = code === DUPLICATE_OBJECT || code === UNIQUE_VIOLATION || code === CONCURRENT_UPDATE;
      if (!race || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

/** Module names are `[a-z][a-z0-9_]*` (checked at discovery); quoting keeps that a fact, not an assumption. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
