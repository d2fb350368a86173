import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ShipmentStatus } from '../../contract/shipment.view.js';

/**
 * A row's status: a shipment's, or VOIDED, the order's row when its shipment
 * was cancelled before it was ever scheduled. A VOIDED row holds the order's
 * place, so that a late schedule finds it and schedules nothing; it has no
 * address, is no shipment, and no view shows it.
 */
export type ShipmentRecordStatus = ShipmentStatus | 'VOIDED';

/**
 * The address is kept as columns rather than jsonb: its shape is fixed by the
 * contract, so the table can check each part (present, country code), and a
 * carrier run can be selected by country or postal code with plain indexes.
 * They are null only in a VOIDED row.
 */
@Entity({ schema: 'shipping', name: 'shipments' })
export class ShipmentEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Unique: one row per order, so an order has at most one shipment, and a schedule and a cancel of it meet here. */
  @Column({ name: 'order_id', type: 'uuid', unique: true })
  orderId: string;

  @Column({ type: 'varchar', length: 16 })
  status: ShipmentRecordStatus;

  @Column({ name: 'address_name', type: 'text', nullable: true })
  addressName: string | null;

  @Column({ name: 'address_line1', type: 'text', nullable: true })
  addressLine1: string | null;

  @Column({ name: 'address_city', type: 'text', nullable: true })
  addressCity: string | null;

  @Column({ name: 'address_postal_code', type: 'text', nullable: true })
  addressPostalCode: string | null;

  @Column({ name: 'address_country', type: 'char', length: 2, nullable: true })
  addressCountry: string | null;

  /** When the carrier says the parcel was delivered or returned; set with, and only with, those statuses. */
  @Column({ name: 'carrier_event_at', type: 'timestamptz', nullable: true })
  carrierEventAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
