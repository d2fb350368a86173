import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './messaging.migration.js';

/**
 * Two records that keep the delivery guarantees under faults (ADR 20):
 * - `outbox_deliveries.locked_by`: the relay that holds a claim. Every write
 *   of the relay's bookkeeping (delivered, retry, dead) names it, so a relay
 *   whose lease expired and was taken over changes nothing of what the new
 *   holder does.
 * - `event_gaps`: per subscriber and aggregate, stream positions the
 *   aggregate went past without taking them, when an event whose predecessor
 *   never came was dead-lettered: `(after_seq, through_seq]`. An event of that
 *   aggregate arriving later inside a gap is not a redelivery of one taken
 *   but one that was never seen: it is dead-lettered, never dropped.
 */
export class LeasesAndGaps1700000000007 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries ADD COLUMN locked_by uuid`);
    await runner.query(`
      CREATE TABLE ${schema}.event_gaps (
        subscriber   text        NOT NULL,
        publisher    text        NOT NULL,
        aggregate_id text        NOT NULL,
        after_seq    bigint      NOT NULL,
        through_seq  bigint      NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (subscriber, publisher, aggregate_id, through_seq),
        CHECK (after_seq < through_seq)
      )`);
    await runner.query(`CREATE INDEX event_gaps_created_at ON ${schema}.event_gaps USING brin (created_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`DROP TABLE ${schema}.event_gaps`);
    await runner.query(`ALTER TABLE ${schema}.outbox_deliveries DROP COLUMN locked_by`);
  }
}
