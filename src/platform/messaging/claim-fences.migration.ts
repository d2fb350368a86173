import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './messaging.migration.js';

/**
 * Fencing tokens for the in-process path (ADR 20):
 * - `outbox_claims`: a sequence the relay draws from for every delivery it
 *   claims. A claim is made only after the claims it follows (the previous
 *   holder's of the same delivery, the aggregate's earlier deliveries) have
 *   committed, so along an aggregate's hand-overs the tokens only grow.
 * - `inbox_claims`: per subscriber, outbox and aggregate, the furthest
 *   position the subscriber took and the token of the claim that handed it
 *   over. The inbox refuses an event behind it by an older claim, in the
 *   statement that records it: a relay held past its lease, handing over an
 *   event after the others went past it, is refused by the subscriber's own
 *   database. No index on `updated_at` (read only by the pruning): the row's
 *   update stays a HOT update.
 */
export class ClaimFences1700000000008 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`CREATE SEQUENCE ${schema}.outbox_claims AS bigint`);
    await runner.query(`
      CREATE TABLE ${schema}.inbox_claims (
        handler      text        NOT NULL,
        outbox       text        NOT NULL,
        aggregate_id text        NOT NULL,
        position     bigint      NOT NULL,
        claim        bigint      NOT NULL,
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (handler, outbox, aggregate_id)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    const schema = schemaOf(runner);
    await runner.query(`DROP TABLE ${schema}.inbox_claims`);
    await runner.query(`DROP SEQUENCE ${schema}.outbox_claims`);
  }
}
