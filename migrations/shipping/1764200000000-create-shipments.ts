import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateShipments1764200000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    // UNIQUE (order_id) is the one-shipment-per-order guarantee, whatever the code that inserts does.
    // Address lines are text, not varchar(n): their upper limits are the contract's. class-validator
    // counts a character and its variation selector (U+FE0F) as one, Postgres as two, so a varchar(n)
    // would refuse, as a 500, some addresses the contract accepted.
    await runner.query(`
      CREATE TABLE shipping.shipments (
        id                  uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
        order_id            uuid         NOT NULL,
        status              varchar(16)  NOT NULL CHECK (status IN ('SCHEDULED', 'CANCELLED')),
        address_name        text         NOT NULL CHECK (length(address_name) >= 1),
        address_line1       text         NOT NULL CHECK (length(address_line1) >= 1),
        address_city        text         NOT NULL CHECK (length(address_city) >= 1),
        address_postal_code text         NOT NULL CHECK (length(address_postal_code) >= 1),
        address_country     char(2)      NOT NULL CHECK (address_country ~ '^[A-Z]{2}$'),
        created_at          timestamptz  NOT NULL DEFAULT now(),
        updated_at          timestamptz  NOT NULL DEFAULT now(),
        CONSTRAINT shipments_order_id_key UNIQUE (order_id)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE shipping.shipments');
  }
}
