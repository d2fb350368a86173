import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './messaging.migration.js';

/**
 * Less to write for every event and every delivery (ADR 5), measured on a
 * checkout with a subscriber:
 * - no foreign key from a delivery to its event: only the outbox's own
 *   statements write either table, always both in one statement; the key's
 *   check locked the event's row for every delivery written (a write of its
 *   own), and pruning now deletes an event's deliveries itself;
 * - room left on each delivery page (fillfactor 80), so that a claim (its
 *   lease and attempt count: no indexed column) updates the row in place
 *   instead of adding a version to every index;
 * - no unique index on `outbox.position`: its sequence makes it unique, and
 *   nothing looks an event up by it (claims order deliveries by their own copy);
 * - the retention's look-ups by time (`outbox.occurred_at`,
 *   `inbox.handled_at`) on BRIN indexes, which cost next to nothing to keep
 *   for columns that grow with the table, instead of B-trees written on every
 *   event and read once every prune interval.
 */
export class LighterEventWrites1700000000004 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries DROP CONSTRAINT IF EXISTS outbox_deliveries_event_id_fkey`);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries SET (fillfactor = 80)`);
    await runner.query(`ALTER TABLE ${schema}.outbox DROP CONSTRAINT IF EXISTS outbox_position_key`);
    await runner.query(`DROP INDEX IF EXISTS ${schema}.outbox_occurred_at`);
    await runner.query(`CREATE INDEX outbox_occurred_at ON ${schema}.outbox USING brin (occurred_at)`);
    await runner.query(`DROP INDEX IF EXISTS ${schema}.inbox_handled_at`);
    await runner.query(`CREATE INDEX inbox_handled_at ON ${schema}.inbox USING brin (handled_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`DROP INDEX ${schema}.inbox_handled_at`);
    await runner.query(`CREATE INDEX inbox_handled_at ON ${schema}.inbox (handled_at)`);
    await runner.query(`DROP INDEX ${schema}.outbox_occurred_at`);
    await runner.query(`CREATE INDEX outbox_occurred_at ON ${schema}.outbox (occurred_at)`);
    await runner.query(`ALTER TABLE ${schema}.outbox ADD CONSTRAINT outbox_position_key UNIQUE (position)`);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries RESET (fillfactor)`);
    await runner.query(
      `ALTER TABLE ${schema}.outbox_deliveries ADD CONSTRAINT outbox_deliveries_event_id_fkey
         FOREIGN KEY (event_id) REFERENCES ${schema}.outbox (id) ON DELETE CASCADE`,
    );
  }
}
