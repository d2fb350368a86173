import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ShipmentStatus } from '../../contract/shipment.view.js';

/**
 * The address is kept as columns rather than jsonb: its shape is fixed by the
 * contract, so the table can check each part (present, country code), and a
 * carrier run can be selected by country or postal code with plain indexes.
 */
@Entity({ schema: 'shipping', name: 'shipments' })
export class ShipmentEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Unique: the database, not only the code's per-order lock, is what keeps an order to one shipment. */
  @Column({ name: 'order_id', type: 'uuid', unique: true })
  orderId: string;

  @Column({ type: 'varchar', length: 16 })
  status: ShipmentStatus;

  @Column({ name: 'address_name', type: 'text' })
  addressName: string;

  @Column({ name: 'address_line1', type: 'text' })
  addressLine1: string;

  @Column({ name: 'address_city', type: 'text' })
  addressCity: string;

  @Column({ name: 'address_postal_code', type: 'text' })
  addressPostalCode: string;

  @Column({ name: 'address_country', type: 'char', length: 2 })
  addressCountry: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
