import type { ShipmentStatus, ShipmentView } from '../../contract/shipment.view.js';
import type { ShipmentEntity } from './shipment.entity.js';

/** A `shipments` row as Postgres returns it from `RETURNING *`. */
export interface ShipmentRow {
  readonly id: string;
  readonly order_id: string;
  readonly status: ShipmentStatus;
  readonly address_name: string;
  readonly address_line1: string;
  readonly address_city: string;
  readonly address_postal_code: string;
  readonly address_country: string;
  readonly created_at: Date | string;
}

type ShipmentFields = Pick<
  ShipmentEntity,
  'id' | 'orderId' | 'status' | 'addressName' | 'addressLine1' | 'addressCity' | 'addressPostalCode' | 'addressCountry'
> & { createdAt: Date | string };

export function toShipmentView(shipment: ShipmentFields): ShipmentView {
  return {
    shipmentId: shipment.id,
    orderId: shipment.orderId,
    status: shipment.status,
    address: {
      name: shipment.addressName,
      line1: shipment.addressLine1,
      city: shipment.addressCity,
      postalCode: shipment.addressPostalCode,
      country: shipment.addressCountry,
    },
    // The driver answers a Date; a view must be the same value in process as after a trip through JSON.
    createdAt: new Date(shipment.createdAt).toISOString(),
  };
}

export function rowToShipmentView(row: ShipmentRow): ShipmentView {
  return toShipmentView({
    id: row.id,
    orderId: row.order_id,
    status: row.status,
    addressName: row.address_name,
    addressLine1: row.address_line1,
    addressCity: row.address_city,
    addressPostalCode: row.address_postal_code,
    addressCountry: row.address_country,
    createdAt: row.created_at,
  });
}
