import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '../messaging/messaging.migration.js';

/**
 * Someone waits for this saga's end (`sagas.watched`, ADR 30): the statement
 * that ends it then NOTIFYs, so a waiter in another process hears it. Only
 * watched sagas notify: a NOTIFY serialises the commits that send one.
 */
export class AddSagaWatched1700000000030 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE ${schemaOf(runner)}.sagas ADD COLUMN watched boolean NOT NULL DEFAULT false`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE ${schemaOf(runner)}.sagas DROP COLUMN watched`);
  }
}
