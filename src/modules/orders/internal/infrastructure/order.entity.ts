import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { FailureReason, OrderStatus } from '../../contract/order.view.js';

@Entity({ schema: 'orders', name: 'orders' })
export class OrderEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'customer_id', type: 'text' })
  customerId: string;

  @Column({ type: 'text' })
  status: OrderStatus;

  @Column({ name: 'failure_reason', type: 'text', nullable: true })
  failureReason: FailureReason | null;

  // bigint arrives as a string from pg: parsed here, totals stay far below 2^53.
  @Column({ name: 'total_cents', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  totalCents: number;

  @Column({ name: 'payment_token', type: 'text' })
  paymentToken: string;

  @Column({ name: 'shipping_address', type: 'jsonb' })
  shippingAddress: Record<string, string>;

  @Column({ name: 'payment_id', type: 'uuid', nullable: true })
  paymentId: string | null;

  @Column({ name: 'shipment_id', type: 'uuid', nullable: true })
  shipmentId: string | null;

  @Column({ name: 'idempotency_key', type: 'text', nullable: true })
  idempotencyKey: string | null;

  @Column({ name: 'request_fingerprint', type: 'text' })
  requestFingerprint: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
