import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { storeInvariantViolations } from '../support/store-invariants.js';
import type { UnexpectedExit } from './explore-processes.js';

/** One invariant checked after a schedule, and what broke it (empty: it held). */
export interface InvariantCheck {
  readonly name: string;
  readonly violations: readonly string[];
}

/** Longer than a relay's or a saga runner's recovery poll and a lease taken over: work that old and unclaimed is left behind. */
const GRACE_S = 15;

export interface CheckInput {
  readonly adminUrl: string;
  /** The run's NATS and its stream (none in a monolith). */
  readonly nats?: { readonly url: string; readonly stream: string };
  /** Orders the store acknowledged to the workload. */
  readonly acknowledged: readonly string[];
  /** Whether the store settled (no order PENDING or CANCELLING, every notification there) within the bound. */
  readonly quiet: { readonly quiet: boolean; readonly counts: Readonly<Record<string, number>> };
  readonly unexpectedExits: readonly UnexpectedExit[];
  readonly notRunning: readonly string[];
  /** Every dead-letter line the processes logged. */
  readonly deadLetterLines: readonly string[];
}

/**
 * Everything the explorer checks after a schedule, once the store is quiet:
 * the store's invariants (store-api.md), then the platform's own: no
 * delivery, saga or stream event left where nothing will move it, every dead
 * letter explained and reported, every acknowledged order there, every process
 * alive unless the schedule itself stopped it.
 */
export async function checkInvariants(input: CheckInput): Promise<InvariantCheck[]> {
  const checks: InvariantCheck[] = [];
  const add = (name: string, violations: readonly string[]) => checks.push({ name, violations });

  add('every process alive, or restarted by the schedule', [
    ...input.unexpectedExits.map(
      (e) => `${e.process} exited by itself (${e.exit}) at ${(e.atMs / 1000).toFixed(1)} s; its last lines:\n      ${e.lastLines.slice(-12).join('\n      ')}`,
    ),
    ...input.notRunning.map((name) => `${name} is not running at the end`),
  ]);
  add(
    'the store settles (no order PENDING or CANCELLING, every notification recorded) within the bound',
    input.quiet.quiet ? [] : [`not quiet: ${JSON.stringify(input.quiet.counts)}`],
  );

  const client = new pg.Client({ connectionString: input.adminUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows: found } = await client.query<{ id: string }>('SELECT id FROM orders.orders WHERE id = ANY($1::uuid[])', [input.acknowledged]);
    const have = new Set(found.map((r) => r.id));
    const lost = input.acknowledged.filter((id) => !have.has(id));
    add('every order the store acknowledged exists', lost.length ? [`${lost.length} acknowledged order(s) missing: ${lost.slice(0, 5).join(', ')}`] : []);

    const store: InvariantCheck[] = [];
    await storeInvariantViolations(input.adminUrl, (name, held) => store.push({ name, violations: held ? [] : [name] }));
    // The detail of each violation (its rows) comes in the list answered; keep one check per invariant.
    const detailed = await storeInvariantViolations(input.adminUrl);
    for (const check of store) checks.push({ name: check.name, violations: detailed.filter((v) => v.startsWith(`${check.name}:`)) });
    if (store.length === 0) add('store invariants', detailed);

    for (const schema of await schemasWith(client, 'outbox_deliveries')) {
      const { rows: stuck } = await client.query(
        `SELECT event_id, subscriber, attempts, next_attempt_at, locked_until, last_error FROM ${schema}.outbox_deliveries
          WHERE status = 'PENDING' AND next_attempt_at < now() - make_interval(secs => $1)
            AND (locked_until IS NULL OR locked_until < now() - make_interval(secs => $1))
          LIMIT 5`,
        [GRACE_S],
      );
      add(
        `${schema}: no delivery due and unclaimed (a relay would have taken it)`,
        stuck.map((r) => JSON.stringify(r)),
      );
      const { rows: never } = await client.query(
        `SELECT event_id, subscriber, attempts, next_attempt_at FROM ${schema}.outbox_deliveries
          WHERE status = 'PENDING' AND next_attempt_at > now() + interval '1 hour' LIMIT 5`,
      );
      add(
        `${schema}: no delivery put off for over an hour`,
        never.map((r) => JSON.stringify(r)),
      );
      const { rows: dead } = await client.query<{ event_id: string; subscriber: string; last_error: string | null }>(
        `SELECT event_id, subscriber, last_error FROM ${schema}.outbox_deliveries WHERE status = 'DEAD'`,
      );
      add(
        `${schema}: every dead letter explained (an error, and a log line naming it)`,
        dead
          .filter((d) => !d.last_error?.trim() || !input.deadLetterLines.some((line) => line.includes(d.event_id)))
          .map((d) => `dead letter ${d.event_id} for ${d.subscriber}: ${d.last_error?.trim() ? 'never reported in a log line' : 'no error recorded'}`),
      );
      add(
        `${schema}: no dead letters (an event not applied: a notification the invariants miss)`,
        dead.map((d) => `dead letter ${d.event_id} for ${d.subscriber}: ${d.last_error}`),
      );
    }
    for (const schema of await schemasWith(client, 'sagas')) {
      const { rows: orphaned } = await client.query(
        `SELECT saga, key, step, attempts, next_run_at, locked_until, last_error FROM ${schema}.sagas
          WHERE status = 'RUNNING' AND next_run_at < now() - make_interval(secs => $1)
            AND (locked_until IS NULL OR locked_until < now() - make_interval(secs => $1))
          LIMIT 5`,
        [GRACE_S],
      );
      add(
        `${schema}: no saga due with an expired lease and nobody claiming it`,
        orphaned.map((r) => JSON.stringify(r)),
      );
      const { rows: stuck } = await client.query(`SELECT saga, key, step, attempts, last_error FROM ${schema}.sagas WHERE status = 'STUCK' LIMIT 5`);
      add(
        `${schema}: no saga STUCK`,
        stuck.map((r) => JSON.stringify(r)),
      );
    }
  } finally {
    await client.end().catch(() => {});
  }

  if (input.nats) add('every stream consumer has taken every event (none pending or unacknowledged)', await unreadEvents(input.nats.url, input.nats.stream));
  return checks;
}

/** The module schemas that have `table` (each module has its own outbox and saga tables). */
async function schemasWith(client: pg.Client, table: string): Promise<string[]> {
  const { rows } = await client.query<{ schema: string }>(
    `SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = $1 AND table_schema NOT IN ('public', 'pg_catalog') ORDER BY 1`,
    [table],
  );
  return rows.map((r) => `"${r.schema}"`);
}

/** Consumers of the stream with events still pending or delivered and not acknowledged. */
async function unreadEvents(url: string, stream: string): Promise<string[]> {
  const connection = await connect({ servers: url, timeout: 5_000 });
  try {
    const jsm = await jetstreamManager(connection);
    const out: string[] = [];
    try {
      for await (const consumer of jsm.consumers.list(stream)) {
        if (consumer.num_pending > 0 || consumer.num_ack_pending > 0) {
          out.push(`${consumer.name}: ${consumer.num_pending} pending, ${consumer.num_ack_pending} unacknowledged, ${consumer.num_redelivered} redelivered`);
        }
      }
    } catch (error) {
      if (!/stream not found/i.test((error as Error).message)) throw error;
    }
    return out;
  } finally {
    await connection.close();
  }
}
