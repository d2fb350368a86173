import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A charge writes its intent (AUTHORIZING) before it asks the provider, and
 * records the answer after: a charge that arrives after its order was voided
 * then never reaches the provider, so it can never take money that no refund
 * will return. An intent has its amount and token, like a payment.
 */
export class ChargeIntent1764900000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE payments.payments DROP CONSTRAINT payments_status_check`);
    await runner.query(`
      ALTER TABLE payments.payments
        ADD CONSTRAINT payments_status_check CHECK (status IN ('AUTHORIZING', 'CAPTURED', 'REFUNDED', 'DECLINED', 'VOIDED'))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`UPDATE payments.payments SET status = 'VOIDED', token = NULL, amount_cents = 0 WHERE status = 'AUTHORIZING'`);
    await runner.query(`ALTER TABLE payments.payments DROP CONSTRAINT payments_status_check`);
    await runner.query(`
      ALTER TABLE payments.payments
        ADD CONSTRAINT payments_status_check CHECK (status IN ('CAPTURED', 'REFUNDED', 'DECLINED', 'VOIDED'))`);
  }
}
