import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { NotificationKind } from '../../contract/notification.view.js';

@Entity({ schema: 'notifications', name: 'notifications' })
export class NotificationEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** A bigserial: the order notifications were made in, which lists follow (timestamps can tie). */
  @Column({ type: 'bigint', insert: false, update: false })
  position: string;

  @Column({ name: 'customer_id', type: 'text' })
  customerId: string;

  /** With `kind`, unique: one notification per order and kind, however often its event arrives. */
  @Column({ name: 'order_id', type: 'uuid' })
  orderId: string;

  @Column({ type: 'text' })
  kind: NotificationKind;

  /** The order's failureReason for a cancellation; null for a confirmation. */
  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
