import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '../messaging/messaging.migration.js';

/**
 * What a saga's steps answered, kept with it (`sagas.outputs`): the events
 * its end publishes are built from them before the statement that ends it,
 * whichever runner ran which step.
 */
export class AddSagaOutputs1700000000003 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE ${schemaOf(runner)}.sagas ADD COLUMN outputs jsonb NOT NULL DEFAULT '{}'`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE ${schemaOf(runner)}.sagas DROP COLUMN outputs`);
  }
}
