import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import pg from 'pg';
import { ConfigurationError } from '../config/configuration.error.js';
import { GuardedClient } from './guarded-client.js';

/** PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * The login role a module's code runs as in one deployment: `<database>.<module>`. Roles are
 * cluster-wide, so the name carries the deployment (its database): two databases on one server
 * (staging and production, two test runs) get disjoint roles (ADR 22). A name over PostgreSQL's
 * 63 bytes keeps a readable prefix of the database and a hash of the whole: `<prefix>~<hash>.<module>`.
 * Module names have no dot, so the part after the last one is always the module.
 */
export function moduleRoleName(database: string, module: string): string {
  const full = `${database}.${module}`;
  if (Buffer.byteLength(full) <= MAX_IDENTIFIER_BYTES) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 12);
  const tail = `~${hash}.${module}`;
  const room = MAX_IDENTIFIER_BYTES - Buffer.byteLength(tail);
  return room > 0 ? `${cutToBytes(database, room)}${tail}` : `${cutToBytes(full, MAX_IDENTIFIER_BYTES - 13)}~${hash}`;
}

/** The longest prefix of `text` within `bytes` UTF-8 bytes, never splitting a character. */
function cutToBytes(text: string, bytes: number): string {
  let out = '';
  for (const char of text) {
    if (Buffer.byteLength(out + char) > bytes) break;
    out += char;
  }
  return out;
}

/**
 * A module role's password: derived from the deployment's secret and the role's name, so that
 * every process of a deployment computes the same one (a start never changes it under another)
 * and none is stored anywhere.
 */
export function moduleRolePassword(secret: string, role: string): string {
  return createHmac('sha256', secret).update(role).digest('hex').slice(0, 40);
}

/** Marks a module role with its deployment, for whoever decommissions it (see `deploymentRoles`). */
export function roleComment(database: string): string {
  return `monolith-first module role of database ${database}`;
}

/**
 * Where a deployment keeps what its module roles derive from: a schema of the administrator's,
 * in the deployment's database, that no module role may enter. Its name has a hyphen, which no
 * module name has, so it is no module's schema.
 */
const DEPLOYMENT_SCHEMA = 'monolith-first';

/**
 * The deployment's role secret, decided once, by its first provisioning, under the provisioning
 * lock: DB_ROLE_SECRET when set (only a fingerprint is kept), else a random one kept in the
 * database, readable by the administrator only. Later starts use the same secret, or are refused
 * when they bring another: their passwords would lock out the processes already running.
 */
async function deploymentSecret(client: pg.Client, configured: string | undefined): Promise<string> {
  const schema = ident(DEPLOYMENT_SCHEMA);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await client.query(`REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${schema}.deployment (
       single boolean PRIMARY KEY DEFAULT true CHECK (single),
       role_secret text,
       secret_fingerprint text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now())`,
  );
  await client.query(`REVOKE ALL ON ${schema}.deployment FROM PUBLIC`);
  const { rows } = await client.query<{ role_secret: string | null; secret_fingerprint: string }>(
    `SELECT role_secret, secret_fingerprint FROM ${schema}.deployment`,
  );
  const fingerprint = (secret: string) => createHmac('sha256', secret).update('monolith-first:fingerprint').digest('hex');
  if (rows.length === 0) {
    const secret = configured ?? randomBytes(32).toString('hex');
    await client.query(`INSERT INTO ${schema}.deployment (role_secret, secret_fingerprint) VALUES ($1, $2)`, [
      configured === undefined ? secret : null,
      fingerprint(secret),
    ]);
    return secret;
  }
  const [stored] = rows;
  const reset = `to change it, stop every process of the deployment, DELETE FROM "${DEPLOYMENT_SCHEMA}".deployment, and start them with the new one`;
  if (configured === undefined) {
    if (stored.role_secret !== null) return stored.role_secret;
    throw new ConfigurationError(`DB_ROLE_SECRET: this deployment's module roles were provisioned with a DB_ROLE_SECRET; set the same one here (${reset})`);
  }
  if (fingerprint(configured) !== stored.secret_fingerprint) {
    throw new ConfigurationError(
      `DB_ROLE_SECRET: not the secret this deployment's module roles were provisioned with ` +
        `(${stored.role_secret === null ? 'another DB_ROLE_SECRET' : 'none: a generated one'}); its passwords would lock out the processes already running; ` +
        `use the same value in every process (${reset})`,
    );
  }
  return configured;
}

/** `adminUrl` as the module role: same server, the database named explicitly. */
function roleUrl(adminUrl: string, db: string, role: string, password: string): string {
  const url = new URL(adminUrl);
  url.username = role;
  url.password = password;
  // Named explicitly: without a path a role's default database is its own name.
  url.pathname = `/${encodeURIComponent(db)}`;
  return url.toString();
}

/**
 * The URL provisioning gives a module's role, computed without connecting: what an operator
 * hands a service before the provisioning Job has run (the role secret must then be
 * DB_ROLE_SECRET, since a generated one is known only to the database). The admin URL must name
 * its database: that name is part of the role's.
 */
export function moduleRoleUrl(adminUrl: string, module: string, secret: string): string {
  const db = decodeURIComponent(new URL(adminUrl).pathname.slice(1));
  if (db === '')
    throw new ConfigurationError(`${module}: the admin URL names no database (postgres://…/<database>): the role's name and password derive from it`);
  const role = moduleRoleName(db, module);
  return roleUrl(adminUrl, db, role, moduleRolePassword(secret, role));
}

export interface ProvisionedModule {
  /** How the module connects: as its own role, to the same server and database. */
  readonly url: string;
  /** False when the given user could not create roles and is used as it is. */
  readonly isolatedByRole: boolean;
}

/**
 * Creates (idempotently) the module's role and schema through `adminUrl`:
 * the role may log in to this database only, owns schema `<module>`, has it as its search_path,
 * and has no privilege on any other schema: PUBLIC's rights on `public`, and on the database
 * itself, are revoked. `configuredSecret` is DB_ROLE_SECRET (optional: see `deploymentSecret`).
 */
export async function provisionModule(adminUrl: string, module: string, configuredSecret: string | undefined): Promise<ProvisionedModule> {
  const client = new GuardedClient({ connectionString: adminUrl, application_name: 'monolith-first:provisioning' });
  await client.connect();
  try {
    const me = await client.query<{ rolsuper: boolean; rolcreaterole: boolean; db: string }>(
      'SELECT rolsuper, rolcreaterole, current_database() AS db FROM pg_roles WHERE rolname = current_user',
    );
    const { rolsuper, rolcreaterole, db } = me.rows[0];
    if (!rolsuper && !rolcreaterole) return await asGivenRole(client, adminUrl, module);
    const role = moduleRoleName(db, module);
    await client.query('BEGIN');
    // One provisioning at a time per database (advisory locks are per database): several
    // processes of the deployment may start together; another deployment's take another lock.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('monolith-first:provisioning'))");
    const password = moduleRolePassword(await deploymentSecret(client, configuredSecret), role);
    await ensureRole(client, role, password, !rolsuper);
    await client.query(`COMMENT ON ROLE ${ident(role)} IS ${client.escapeLiteral(roleComment(db))}`);
    // The deployment's database opens to its own roles only (and the administrator, its owner or a superuser).
    await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${ident(db)} FROM PUBLIC`);
    await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${ident(db)} TO ${ident(role)}`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(module)} AUTHORIZATION ${ident(role)}`);
    await adoptSchema(client, db, module, role);
    await client.query(`REVOKE ALL ON SCHEMA ${ident(module)} FROM PUBLIC`);
    await client.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
    await client.query(`ALTER ROLE ${ident(role)} IN DATABASE ${ident(db)} SET search_path = ${ident(module)}`);
    await client.query('COMMIT');
    return { url: roleUrl(adminUrl, db, role, password), isolatedByRole: true };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Hands the module's schema and its tables to `role` when another role owns them: a schema
 * provisioned before roles were per deployment (`<module>_module`, ADR 3), or under another
 * database name. The previous owner keeps nothing here, not even CONNECT.
 */
async function adoptSchema(client: pg.Client, db: string, module: string, role: string): Promise<void> {
  const { rows } = await client.query<{ owner: string }>(
    'SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = $1 AND nspowner <> to_regrole($2)',
    [module, ident(role)],
  );
  if (rows.length === 0) return;
  const tables = await client.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relowner <> to_regrole($2)`,
    [module, ident(role)],
  );
  // ALTER TABLE also moves the table's indexes and the sequences its columns own.
  for (const { name } of tables.rows) await client.query(`ALTER TABLE ${name} OWNER TO ${ident(role)}`);
  await client.query(`ALTER SCHEMA ${ident(module)} OWNER TO ${ident(role)}`);
  const previous = rows[0].owner;
  const privileged = await client.query<{ keep: boolean }>('SELECT rolsuper OR rolname = current_user AS keep FROM pg_roles WHERE oid = to_regrole($1)', [
    previous,
  ]);
  if (privileged.rows[0]?.keep === false) await client.query(`REVOKE ALL ON DATABASE ${ident(db)} FROM ${previous}`);
  new Logger('Provisioning').log(`${module}: schema '${module}' and its ${tables.rowCount} tables handed from '${previous}' to '${role}'`);
}

/**
 * The operator handed us a role that cannot create roles: the module's own
 * (provisioned by `npm run provision`), or one of their making. It is used as
 * it is. Its schema must be there and its own, or creatable by it.
 */
async function asGivenRole(client: pg.Client, url: string, module: string): Promise<ProvisionedModule> {
  const { rows } = await client.query<{ owner: string | null; mine: boolean | null; can_create: boolean; user: string; db: string }>(
    `SELECT n.nspowner::regrole::text AS owner, pg_has_role(current_user, n.nspowner, 'USAGE') AS mine,
            has_database_privilege(current_database(), 'CREATE') AS can_create, current_user AS user, current_database() AS db
       FROM (SELECT 1) one LEFT JOIN pg_namespace n ON n.nspname = $1`,
    [module],
  );
  const { owner, mine, can_create: canCreate, user, db } = rows[0];
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
  const isolated = user === moduleRoleName(db, module);
  if (!isolated) {
    new Logger('Provisioning').warn(`${module}: connecting as '${user}', which cannot create roles; isolation is the operator's grants`);
  }
  return { url, isolatedByRole: isolated };
}

async function ensureRole(client: pg.Client, role: string, password: string, grantToMe: boolean): Promise<void> {
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  // Keep the password out of the server's logs of failed statements as far as we can: a literal, never in an error message.
  const literal = client.escapeLiteral(password);
  const attributes = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
  if (exists.rowCount === 0) {
    await client.query(`CREATE ROLE ${ident(role)} ${attributes} PASSWORD ${literal}`);
  } else {
    // The same password every process of the deployment derives: setting it again changes nothing.
    await client.query(`ALTER ROLE ${ident(role)} ${attributes} PASSWORD ${literal}`);
  }
  // A non-superuser creator must be a member to hand the role a schema.
  if (grantToMe) await client.query(`GRANT ${ident(role)} TO current_user`);
}

/**
 * The module roles of the deployment whose database is `database` (by their comment): what to
 * drop, after the database, when a deployment is decommissioned. Roles are cluster-wide and
 * outlive their database.
 */
export async function dropDeploymentRoles(client: pg.Client, database: string): Promise<void> {
  const { rows } = await client.query<{ role: string }>(
    `SELECT quote_ident(r.rolname) AS role FROM pg_roles r
       JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass
      WHERE d.description = $1`,
    [roleComment(database)],
  );
  for (const { role } of rows) await client.query(`DROP ROLE IF EXISTS ${role}`);
}

/** Module names are `[a-z][a-z0-9_]*` (checked at discovery); quoting keeps that a fact, not an assumption. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
