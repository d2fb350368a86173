import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The simulated payment provider's books (ADR 24): one row per key it was asked
 * to capture, in the payments schema, so that every replica of Payments sees the
 * same provider, as it would a real one. `n` orders the entries for pruning,
 * oldest first (the retention and the bound of SimulatedPaymentProvider).
 */
export class ProviderBooks1765100000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE payments.provider_books (
        key          text         PRIMARY KEY,
        n            bigint       GENERATED ALWAYS AS IDENTITY,
        amount_cents integer      NOT NULL CHECK (amount_cents >= 0),
        status       varchar(16)  NOT NULL CHECK (status IN ('CAPTURED', 'DECLINED', 'REFUNDED')),
        created_at   timestamptz  NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX provider_books_n_idx ON payments.provider_books (n)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE payments.provider_books');
  }
}
