import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreatePayments1764100000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    // UNIQUE (order_id) is the charge-at-most-once guarantee, whatever the code that inserts does.
    await runner.query(`
      CREATE TABLE payments.payments (
        id           uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
        order_id     uuid         NOT NULL,
        amount_cents integer      NOT NULL CHECK (amount_cents >= 0),
        token        varchar(64)  NOT NULL CHECK (token ~ '^tok_[a-z0-9_]{1,60}$'),
        status       varchar(16)  NOT NULL CHECK (status IN ('CAPTURED', 'REFUNDED', 'DECLINED')),
        created_at   timestamptz  NOT NULL DEFAULT now(),
        updated_at   timestamptz  NOT NULL DEFAULT now(),
        CONSTRAINT payments_order_id_key UNIQUE (order_id)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE payments.payments');
  }
}
