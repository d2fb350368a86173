import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A delivered order's customer is asked for a review once its delay has passed: REVIEW_REQUESTED (ADR 33). */
export class ReviewRequestedNotifications1765300000001 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE notifications.notifications
        DROP CONSTRAINT notifications_kind_check,
        ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('ORDER_CONFIRMED', 'ORDER_CANCELLED', 'REVIEW_REQUESTED'))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DELETE FROM notifications.notifications WHERE kind = 'REVIEW_REQUESTED'`);
    await runner.query(`
      ALTER TABLE notifications.notifications
        DROP CONSTRAINT notifications_kind_check,
        ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('ORDER_CONFIRMED', 'ORDER_CANCELLED'))`);
  }
}
