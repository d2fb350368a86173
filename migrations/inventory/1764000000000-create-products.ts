import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateProducts1764000000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE inventory.products (
        sku         varchar(64)  PRIMARY KEY CHECK (sku ~ '^[A-Z0-9_-]{1,64}$'),
        -- text, not varchar(200): the contract counts characters as users see them, Postgres code points.
        name        text         NOT NULL CHECK (length(name) >= 1),
        price_cents integer      NOT NULL CHECK (price_cents BETWEEN 0 AND 100000000),
        on_hand     integer      NOT NULL CHECK (on_hand >= 0),
        reserved    integer      NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
        created_at  timestamptz  NOT NULL DEFAULT now(),
        updated_at  timestamptz  NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE inventory.products');
  }
}
