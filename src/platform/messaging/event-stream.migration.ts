import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './messaging.migration.js';

/**
 * What events across processes need in every module's schema (ADR 12):
 * - `outbox.stream_seq`: where the event landed in the stream, so the next
 *   event of its aggregate can say which one comes before it;
 * - `outbox.publisher`: set on events of another module kept here only as a
 *   subscriber's dead letter, so that `npm run outbox -- replay` hands them
 *   back to the subscriber like any other;
 * - `event_positions`: per subscriber and aggregate, the stream position of
 *   the last event taken, which is what keeps an aggregate's events in order
 *   whatever the consumer's replicas and redeliveries do;
 * - `event_failures`: how often a subscriber's handler failed on an event.
 */
export class AddEventStreamTables1700000000001 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`ALTER TABLE ${schema}.outbox ADD COLUMN stream_seq bigint, ADD COLUMN publisher text`);
    // The relay's look-up of an aggregate's previous position in the stream. Partial: in one
    // process no event ever has a stream position, and its outbox writes pay nothing for it.
    await runner.query(`CREATE INDEX outbox_aggregate_position ON ${schema}.outbox (aggregate_id, position) WHERE stream_seq IS NOT NULL`);
    await runner.query(`
      CREATE TABLE ${schema}.event_positions (
        subscriber   text        NOT NULL,
        publisher    text        NOT NULL,
        aggregate_id text        NOT NULL,
        stream_seq   bigint      NOT NULL,
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (subscriber, publisher, aggregate_id)
      )`);
    await runner.query(`CREATE INDEX event_positions_updated_at ON ${schema}.event_positions (updated_at)`);
    // Failed attempts of a stream event's handler, counted across replicas (deliveries also count ordering waits).
    await runner.query(`
      CREATE TABLE ${schema}.event_failures (
        subscriber text        NOT NULL,
        event_id   uuid        NOT NULL,
        attempts   integer     NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (subscriber, event_id)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`DROP TABLE ${schema}.event_failures`);
    await runner.query(`DROP TABLE ${schema}.event_positions`);
    await runner.query(`DROP INDEX ${schema}.outbox_aggregate_position`);
    await runner.query(`ALTER TABLE ${schema}.outbox DROP COLUMN stream_seq, DROP COLUMN publisher`);
  }
}
