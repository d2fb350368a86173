import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `position` comes from its sequence, so it is unique without an index of
 * its own; a customer's list is read through (customer_id, position). One
 * index fewer to write for every notification.
 */
export class DropNotificationPositionKey1765000000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE notifications.notifications DROP CONSTRAINT notifications_position_key');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE notifications.notifications ADD CONSTRAINT notifications_position_key UNIQUE (position)');
  }
}
