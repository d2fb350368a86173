import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One notification per order and kind. UNIQUE (order_id, kind) is the
 * exactly-once guarantee, whatever delivers the event how often: the inbox
 * skips a redelivery it remembers, this skips one it has forgotten (inbox
 * records are pruned) or one that arrives by another path. `position` is the
 * order in which notifications were made, which timestamps cannot tell apart
 * within one clock tick; a customer's list is read in that order.
 */
export class CreateNotifications1764800000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE notifications.notifications (
        id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        position    bigserial   NOT NULL UNIQUE,
        customer_id text        NOT NULL,
        order_id    uuid        NOT NULL,
        kind        text        NOT NULL CHECK (kind IN ('ORDER_CONFIRMED', 'ORDER_CANCELLED')),
        reason      text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT notifications_order_kind_key UNIQUE (order_id, kind),
        CHECK ((kind = 'ORDER_CANCELLED') = (reason IS NOT NULL))
      )`);
    await runner.query('CREATE INDEX notifications_customer ON notifications.notifications (customer_id, position)');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE notifications.notifications');
  }
}
