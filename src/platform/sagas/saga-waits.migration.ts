import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '../messaging/messaging.migration.js';

/**
 * Durable waits, signals and definition versions (ADR 29). A waiting saga is a
 * row: status WAITING, `wake_at` (its sleep's end or its signal's deadline),
 * `awaiting` (the signal names that end it early); the due-claim takes it when
 * `next_run_at` passes, which a matching signal sets to now(). `signals`
 * counts the signals recorded for the saga, so a runner that enters a wait
 * while one lands sees it (see SagaStore.advance). `saga_signals` keeps every
 * signal, also one that comes before its wait begins, once per id.
 * `definition_version`: the definition an instance started on, and ends on.
 * `cancel_reason`: an operator asked it to give up (npm run sagas -- cancel).
 */
export class AddSagaWaits1700000000009 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`ALTER TABLE ${schema}.sagas DROP CONSTRAINT IF EXISTS sagas_status_check`);
    await runner.query(`ALTER TABLE ${schema}.sagas ADD CONSTRAINT sagas_status_check CHECK (status IN ('RUNNING', 'WAITING', 'DONE', 'STUCK'))`);
    await runner.query(`
      ALTER TABLE ${schema}.sagas
        ADD COLUMN definition_version integer NOT NULL DEFAULT 1,
        ADD COLUMN wake_at timestamptz,
        ADD COLUMN awaiting text[],
        ADD COLUMN signals integer NOT NULL DEFAULT 0,
        ADD COLUMN cancel_reason text`);
    await runner.query(`DROP INDEX ${schema}.sagas_due`);
    await runner.query(`CREATE INDEX sagas_due ON ${schema}.sagas (saga, next_run_at) WHERE status IN ('RUNNING', 'WAITING')`);
    await runner.query(`
      CREATE TABLE ${schema}.saga_signals (
        seq         bigserial   NOT NULL,
        saga        text        NOT NULL,
        key         text        NOT NULL,
        name        text        NOT NULL,
        signal_id   text        NOT NULL,
        payload     jsonb       NOT NULL DEFAULT '{}',
        received_at timestamptz NOT NULL DEFAULT now(),
        consumed_at timestamptz,
        consumed_by text,
        PRIMARY KEY (saga, key, name, signal_id)
      )`);
    await runner.query(`CREATE INDEX saga_signals_waiting ON ${schema}.saga_signals (saga, key, seq) WHERE consumed_at IS NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`DROP TABLE ${schema}.saga_signals`);
    await runner.query(`DROP INDEX ${schema}.sagas_due`);
    await runner.query(`CREATE INDEX sagas_due ON ${schema}.sagas (saga, next_run_at) WHERE status = 'RUNNING'`);
    await runner.query(
      `ALTER TABLE ${schema}.sagas DROP COLUMN definition_version, DROP COLUMN wake_at, DROP COLUMN awaiting, DROP COLUMN signals, DROP COLUMN cancel_reason`,
    );
    await runner.query(`ALTER TABLE ${schema}.sagas DROP CONSTRAINT sagas_status_check`);
    await runner.query(`ALTER TABLE ${schema}.sagas ADD CONSTRAINT sagas_status_check CHECK (status IN ('RUNNING', 'DONE', 'STUCK'))`);
  }
}
