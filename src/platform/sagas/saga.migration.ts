import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '../messaging/messaging.migration.js';

/**
 * The saga engine's tables, in every module's own schema like the outbox:
 * `sagas` holds each saga's position, retries, deadline, lease and version;
 * `saga_log` what it did, in order, for every saga of a key (an order's
 * checkout, then its cancellation). Run by the module's role.
 */
export class CreateSagaTables1700000000002 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`
      CREATE TABLE ${schema}.sagas (
        saga           text        NOT NULL,
        key            text        NOT NULL,
        step           text        NOT NULL,
        status         text        NOT NULL DEFAULT 'RUNNING' CHECK (status IN ('RUNNING', 'DONE', 'STUCK')),
        failure_reason text,
        attempts       integer     NOT NULL DEFAULT 0,
        next_run_at    timestamptz NOT NULL DEFAULT now(),
        deadline_at    timestamptz,
        locked_until   timestamptz,
        version        integer     NOT NULL DEFAULT 0,
        last_error     text,
        trace_context  jsonb       NOT NULL DEFAULT '{}',
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (saga, key),
        CHECK ((status = 'DONE') = (step = 'DONE'))
      )`);
    await runner.query(`CREATE INDEX sagas_due ON ${schema}.sagas (saga, next_run_at) WHERE status = 'RUNNING'`);
    await runner.query(`CREATE INDEX sagas_stuck ON ${schema}.sagas (saga) WHERE status = 'STUCK'`);
    await runner.query(`
      CREATE TABLE ${schema}.saga_log (
        id     bigserial   PRIMARY KEY,
        saga   text        NOT NULL,
        key    text        NOT NULL,
        step   text        NOT NULL,
        status text        NOT NULL CHECK (status IN ('STARTED', 'SUCCEEDED', 'FAILED')),
        at     timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await runner.query(`CREATE INDEX saga_log_key ON ${schema}.saga_log (key, id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`DROP TABLE ${schema}.saga_log, ${schema}.sagas`);
  }
}
