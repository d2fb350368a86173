import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '../messaging/messaging.migration.js';

/**
 * The sagas running now, apart: the admission samples them ten times a second
 * (ADR 16), and the table holds every saga that ever ran and every one that waits
 * for days. Through `sagas_due` (running and waiting) or a scan of the table, one
 * sample read them all: 12-45 ms a time, growing with the history
 * (bench:overload --statements). This index holds only the running ones; its price
 * is one more index entry to write when a running saga's row moves (as `sagas_due` has).
 */
export class AddSagaRunningIndex1700000000031 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE INDEX sagas_running ON ${schemaOf(runner)}.sagas (saga, next_run_at) WHERE status = 'RUNNING'`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX ${schemaOf(runner)}.sagas_running`);
  }
}
