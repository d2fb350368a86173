import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ident } from '../database/provisioning.js';

/**
 * The messaging tables every module has in its own schema: its outbox (events
 * it published, one delivery row per subscriber) and its inbox (events it has
 * handled). Run as the module's first migration, by the module's role.
 */
export class CreateMessagingTables1700000000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`
      CREATE TABLE ${schema}.outbox (
        id           uuid        PRIMARY KEY,
        position     bigserial   NOT NULL UNIQUE,
        name         text        NOT NULL,
        version      integer     NOT NULL,
        aggregate_id text        NOT NULL,
        payload      jsonb       NOT NULL,
        headers      jsonb       NOT NULL DEFAULT '{}',
        occurred_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE ${schema}.outbox_deliveries (
        event_id        uuid        NOT NULL REFERENCES ${schema}.outbox (id) ON DELETE CASCADE,
        subscriber      text        NOT NULL,
        position        bigint      NOT NULL,
        aggregate_id    text        NOT NULL,
        status          text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'DEAD')),
        attempts        integer     NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until    timestamptz,
        last_error      text,
        delivered_at    timestamptz,
        PRIMARY KEY (event_id, subscriber)
      )`);
    // The relay's two questions: what is due, and is an earlier event of the same aggregate still pending.
    await runner.query(`CREATE INDEX outbox_deliveries_due ON ${schema}.outbox_deliveries (position) WHERE status = 'PENDING'`);
    await runner.query(`CREATE INDEX outbox_deliveries_order ON ${schema}.outbox_deliveries (subscriber, aggregate_id, position) WHERE status = 'PENDING'`);
    await runner.query(`CREATE INDEX outbox_deliveries_dead ON ${schema}.outbox_deliveries (subscriber) WHERE status = 'DEAD'`);
    await runner.query(`CREATE INDEX outbox_occurred_at ON ${schema}.outbox (occurred_at)`);
    await runner.query(`
      CREATE TABLE ${schema}.inbox (
        event_id    uuid        NOT NULL,
        handler     text        NOT NULL,
        publisher   text        NOT NULL,
        handled_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (event_id, handler)
      )`);
    await runner.query(`CREATE INDEX inbox_handled_at ON ${schema}.inbox (handled_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`DROP TABLE ${schema}.inbox`);
    await runner.query(`DROP TABLE ${schema}.outbox_deliveries`);
    await runner.query(`DROP TABLE ${schema}.outbox`);
  }
}

/** The schema of the module whose migrations are running: its DataSource's default schema. */
export function schemaOf(runner: QueryRunner): string {
  const { schema } = runner.connection.options as { schema?: string };
  if (!schema) throw new Error('messaging tables need a module DataSource with a schema');
  return ident(schema);
}
