import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';

const names = new Map<string, string>();

/**
 * The statement's name on the wire: its label, which traces show (`pg.query:<name>`),
 * and a digest of its text, so two texts under one label never collide.
 */
function nameOf(label: string, sql: string): string {
  const key = `${label}\0${sql}`;
  let name = names.get(key);
  if (name === undefined) {
    name = `${label}:${createHash('sha256').update(sql).digest('hex').slice(0, 8)}`;
    names.set(key, name);
  }
  return name;
}

/**
 * Runs `sql` as a named prepared statement and answers its rows: each pooled
 * connection parses and plans it once, later calls only bind and execute.
 * On the checkout path that is about half of what Postgres spends per
 * statement (measured for the stock reservation: 450 -> 235 µs of backend CPU).
 *
 * For statements of fixed text (parameters, never values, in the SQL): every
 * distinct text stays prepared on every connection for the connection's life.
 * Behind a transaction-pooling proxy (PgBouncer before 1.21) named statements
 * do not work; this store connects to Postgres directly.
 *
 * `label` names the statement for people (kebab-case, say `orders.place-order`);
 * `runner`: the query runner of an open transaction; without it, the data source's pool.
 */
export async function queryPrepared<R>(
  db: DataSource,
  label: string,
  sql: string,
  params: readonly unknown[],
  runner?: QueryRunner,
): Promise<R[]> {
  const query: pg.QueryConfig = { name: nameOf(label, sql), text: sql, values: [...params] };
  const client: pg.Pool | pg.PoolClient = runner
    ? ((await runner.connect()) as pg.PoolClient)
    : ((db.driver as unknown as { master: pg.Pool }).master);
  return (await client.query(query)).rows as R[];
}
