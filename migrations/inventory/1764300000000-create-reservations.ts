import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row per order that ever asked Inventory to reserve or release: the
 * order id as primary key is what makes both commands idempotent, and what a
 * late reservation finds when its order was released first (a tombstone).
 */
export class CreateReservations1764300000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    // lines and shortages are jsonb, not child tables: they are written once, with the
    // row, and only ever read back whole (to answer, and to give the stock back on
    // release). Nothing selects or aggregates reservations by sku: per-sku totals
    // live in products.reserved, which is what every stock check reads.
    await runner.query(`
      CREATE TABLE inventory.reservations (
        order_id   uuid         PRIMARY KEY,
        status     text         NOT NULL CHECK (status IN ('RESERVED', 'REJECTED', 'RELEASED')),
        lines      jsonb        NOT NULL CHECK (jsonb_typeof(lines) = 'array'),
        shortages  jsonb        NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(shortages) = 'array'),
        created_at timestamptz  NOT NULL DEFAULT now(),
        updated_at timestamptz  NOT NULL DEFAULT now(),
        -- A rejection holds nothing, and only a rejection names shortages.
        CONSTRAINT reservations_rejected_holds_nothing CHECK (status <> 'REJECTED' OR lines = '[]'::jsonb),
        CONSTRAINT reservations_shortages_only_if_rejected CHECK (status = 'REJECTED' OR shortages = '[]'::jsonb)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE inventory.reservations');
  }
}
