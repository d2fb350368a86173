import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { dropDeploymentRoles } from '../../src/platform/database/provisioning.js';

/** Runs one statement over a short-lived admin connection (CREATE/DROP DATABASE cannot run in a pool's transaction). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface FreshDatabase {
  /** Admin URL of the new database: what a user would put in DATABASE_URL. */
  readonly url: string;
  readonly name: string;
  /** A function, not a method: safe to pass around on its own. */
  readonly drop: () => Promise<void>;
}

/** A new, empty database on the server of `serverUrl`, named `<prefix>_<random>`. */
export async function createFreshDatabase(serverUrl: string, prefix: string): Promise<FreshDatabase> {
  const name = `${prefix.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(5).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => dropDeployment(serverUrl, name) };
}

/** Drops the database, then its deployment's module roles: roles are cluster-wide and would outlive it. */
async function dropDeployment(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await dropDeploymentRoles(client, name);
  } finally {
    await client.end();
  }
}
