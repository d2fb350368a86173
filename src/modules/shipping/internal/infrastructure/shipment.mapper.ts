import type { ShipmentView } from '../../contract/shipment.view.js';
import type { ShipmentEntity, ShipmentRecordStatus } from './shipment.entity.js';

/** The columns a view needs, for RETURNING and SELECT lists. */
export const SHIPMENT_COLUMNS = 'id, order_id, status, address_name, address_line1, address_city, address_postal_code, address_country, created_at';

/** A `shipments` row as Postgres returns it for SHIPMENT_COLUMNS. */
export interface ShipmentRow {
  readonly id: string;
  readonly order_id: string;
  readonly status: ShipmentRecordStatus;
  readonly address_name: string | null;
  readonly address_line1: string | null;
  readonly address_city: string | null;
  readonly address_postal_code: string | null;
  readonly address_country: string | null;
  readonly created_at: Date | string;
}

type ShipmentFields = Pick<
  ShipmentEntity,
  'id' | 'orderId' | 'status' | 'addressName' | 'addressLine1' | 'addressCity' | 'addressPostalCode' | 'addressCountry'
> & { createdAt: Date | string };

/** A row that is a shipment as its view. Callers leave VOIDED rows out: they hold an order's place and are no shipment. */
export function toShipmentView(shipment: ShipmentFields): ShipmentView {
  if (shipment.status === 'VOIDED') throw new Error(`shipping row ${shipment.id} is VOIDED: it has no view`);
  return {
    shipmentId: shipment.id,
    orderId: shipment.orderId,
    status: shipment.status,
    // A CHECK keeps every address column set unless VOIDED.
    address: {
      name: shipment.addressName!,
      line1: shipment.addressLine1!,
      city: shipment.addressCity!,
      postalCode: shipment.addressPostalCode!,
      country: shipment.addressCountry!,
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
