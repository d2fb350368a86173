import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '../messaging/messaging.migration.js';

/**
 * How far a saga may have got beyond the step its row shows (`sagas.reach`):
 * a runner that lost its lease, or gave it back, after idempotent steps it had
 * not written yet. Set by the claim that finds a lease run out and by a
 * release; a give-up undoes every step up to it (ADR 19). NULL: nothing beyond.
 */
export class AddSagaReach1700000000006 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE ${schemaOf(runner)}.sagas ADD COLUMN reach text`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE ${schemaOf(runner)}.sagas DROP COLUMN reach`);
  }
}
