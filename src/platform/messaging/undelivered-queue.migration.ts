import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './messaging.migration.js';

/**
 * A delivery row lives only until it is made (ADR 5): `outbox_deliveries` is
 * the queue of what is still to deliver (PENDING) or given up on (DEAD), and a
 * delivery made deletes its row instead of marking it DELIVERED. Measured on a
 * checkout with a subscriber: the partial indexes `WHERE status = 'PENDING'`
 * kept an entry for every delivery ever marked until a vacuum removed it, and
 * the planner, right to believe that few rows were pending, read the whole
 * index to find them (a few hundred pages per claim under load, most of the
 * Postgres time a subscriber cost). On a table of undelivered rows only, the
 * order and due indexes need no predicate, so the planner looks deliveries up
 * by their key, and a delete writes no new row version and no index entry.
 * The event itself stays in `outbox` for the retention, as before.
 */
export class UndeliveredQueue1700000000005 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`DELETE FROM ${schema}.outbox_deliveries WHERE status = 'DELIVERED'`);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries DROP CONSTRAINT IF EXISTS outbox_deliveries_status_check`);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries ADD CONSTRAINT outbox_deliveries_status_check CHECK (status IN ('PENDING', 'DEAD'))`);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries DROP COLUMN delivered_at`);
    await runner.query(`DROP INDEX ${schema}.outbox_deliveries_due`);
    await runner.query(`CREATE INDEX outbox_deliveries_due ON ${schema}.outbox_deliveries (position)`);
    await runner.query(`DROP INDEX ${schema}.outbox_deliveries_order`);
    await runner.query(`CREATE INDEX outbox_deliveries_order ON ${schema}.outbox_deliveries (subscriber, aggregate_id, position)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    // Deliveries made since are gone: their events stay, as delivered ones do (nothing pending refers to them).
    const schema = schemaOf(runner);
    await runner.query(`DROP INDEX ${schema}.outbox_deliveries_order`);
    await runner.query(`CREATE INDEX outbox_deliveries_order ON ${schema}.outbox_deliveries (subscriber, aggregate_id, position) WHERE status = 'PENDING'`);
    await runner.query(`DROP INDEX ${schema}.outbox_deliveries_due`);
    await runner.query(`CREATE INDEX outbox_deliveries_due ON ${schema}.outbox_deliveries (position) WHERE status = 'PENDING'`);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries ADD COLUMN delivered_at timestamptz`);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries DROP CONSTRAINT outbox_deliveries_status_check`);
    await runner.query(
      `ALTER TABLE ${schema}.outbox_deliveries ADD CONSTRAINT outbox_deliveries_status_check CHECK (status IN ('PENDING', 'DELIVERED', 'DEAD'))`,
    );
  }
}
