import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './messaging.migration.js';

/**
 * Less work per delivery row, for a subscriber's every event (ADR 5):
 * - no foreign key from a delivery to its event: only the outbox's own
 *   statements write either table, and always both in one statement; the key's
 *   check locked the event's row on every delivery written (a write of its
 *   own), and pruning now deletes an event's deliveries itself;
 * - room left on each page (fillfactor 80), so that claiming a delivery
 *   (its lease and attempt count, no indexed column) updates it in place
 *   instead of writing a new version into every index.
 */
export class LighterDeliveries1700000000004 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries DROP CONSTRAINT IF EXISTS outbox_deliveries_event_id_fkey`);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries SET (fillfactor = 80)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries RESET (fillfactor)`);
    await runner.query(
      `ALTER TABLE ${schema}.outbox_deliveries ADD CONSTRAINT outbox_deliveries_event_id_fkey
         FOREIGN KEY (event_id) REFERENCES ${schema}.outbox (id) ON DELETE CASCADE`,
    );
  }
}
