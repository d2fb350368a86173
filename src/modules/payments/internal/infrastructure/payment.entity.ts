import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { PaymentStatus } from '../../contract/payment.view.js';

/**
 * A row's status: a payment's, or VOIDED, the order's row when it was refunded
 * before it was ever charged. A VOIDED row holds the order's place, so that a
 * late charge finds it and takes nothing; it is no payment, and no view shows it.
 * AUTHORIZING is a charge's intent, written before the provider is asked and
 * replaced by its answer; no view shows it either.
 */
export type PaymentRecordStatus = PaymentStatus | 'VOIDED' | 'AUTHORIZING';

@Entity({ schema: 'payments', name: 'payments' })
export class PaymentEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Unique: one row per order, so an order is charged at most once, and a charge and a refund of it meet here. */
  @Column({ name: 'order_id', type: 'uuid', unique: true })
  orderId: string;

  @Column({ name: 'amount_cents', type: 'integer' })
  amountCents: number;

  /**
   * The simulated provider returns no charge id, so the token is our only
   * reference to what was authorised. It is a single-use provider reference,
   * not card data, and no view ever shows it; a real provider's charge id
   * would replace it. Null only for a VOIDED row, which authorised nothing.
   */
  @Column({ type: 'varchar', length: 64, nullable: true })
  token: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: PaymentRecordStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
