import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A void (an order refunded before it was ever charged) becomes the order's
 * row in payments.payments, with status VOIDED, instead of a row of its own
 * table. The order's one row is then the single place where a charge and a
 * refund of the same order meet: UNIQUE (order_id) makes the second of two
 * concurrent writers wait for the first and see what it did. That is what lets
 * a charge and a refund each be one statement, with no per-order lock taken in
 * a statement of its own (see docs/adr/0010).
 *
 * A void has no amount and no provider reference: amount 0 and no token, which
 * the CHECKs tie to VOIDED. Views never show a VOIDED row.
 */
export class VoidInTheOrderPaymentSlot1764700000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE payments.payments DROP CONSTRAINT payments_status_check`);
    await runner.query(`ALTER TABLE payments.payments DROP CONSTRAINT payments_token_check`);
    await runner.query(`ALTER TABLE payments.payments ALTER COLUMN token DROP NOT NULL`);
    await runner.query(`
      ALTER TABLE payments.payments
        ADD CONSTRAINT payments_status_check CHECK (status IN ('CAPTURED', 'REFUNDED', 'DECLINED', 'VOIDED')),
        ADD CONSTRAINT payments_token_check CHECK (
          CASE WHEN status = 'VOIDED' THEN token IS NULL AND amount_cents = 0
               ELSE token IS NOT NULL AND token ~ '^tok_[a-z0-9_]{1,60}$' END)`);
    await runner.query(`
      INSERT INTO payments.payments (order_id, amount_cents, token, status, created_at, updated_at)
      SELECT order_id, 0, NULL, 'VOIDED', voided_at, voided_at FROM payments.voided_orders
      ON CONFLICT (order_id) DO NOTHING`);
    await runner.query('DROP TABLE payments.voided_orders');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE payments.voided_orders (
        order_id  uuid         PRIMARY KEY,
        voided_at timestamptz  NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      WITH voids AS (DELETE FROM payments.payments WHERE status = 'VOIDED' RETURNING order_id, created_at)
      INSERT INTO payments.voided_orders (order_id, voided_at) SELECT order_id, created_at FROM voids`);
    await runner.query(`ALTER TABLE payments.payments DROP CONSTRAINT payments_token_check, DROP CONSTRAINT payments_status_check`);
    await runner.query(`ALTER TABLE payments.payments ALTER COLUMN token SET NOT NULL`);
    await runner.query(`
      ALTER TABLE payments.payments
        ADD CONSTRAINT payments_status_check CHECK (status IN ('CAPTURED', 'REFUNDED', 'DECLINED')),
        ADD CONSTRAINT payments_token_check CHECK (token ~ '^tok_[a-z0-9_]{1,60}$')`);
  }
}
