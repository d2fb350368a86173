import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { PaymentStatus } from '../../contract/payment.view.js';

@Entity({ schema: 'payments', name: 'payments' })
export class PaymentEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Unique: the database, not only the code's per-order lock, is what keeps an order from being charged twice. */
  @Column({ name: 'order_id', type: 'uuid', unique: true })
  orderId: string;

  @Column({ name: 'amount_cents', type: 'integer' })
  amountCents: number;

  /**
   * The simulated provider returns no charge id, so the token is our only
   * reference to what was authorised. It is a single-use provider reference,
   * not card data, and no view ever shows it; a real provider's charge id
   * would replace it.
   */
  @Column({ type: 'varchar', length: 64 })
  token: string;

  @Column({ type: 'varchar', length: 16 })
  status: PaymentStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
