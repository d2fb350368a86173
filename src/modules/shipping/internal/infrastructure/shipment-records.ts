import type { DataSource } from 'typeorm';
import { SHIPMENT_COLUMNS, type ShipmentRow } from './shipment.mapper.js';

/**
 * The order's row as it stands, for a schedule or cancel whose statement found
 * the row taken (ON CONFLICT): that statement waited for the row's writer to
 * commit, so this new statement sees it. Rows are never deleted.
 */
export async function shipmentRecordOf(db: DataSource, orderId: string): Promise<ShipmentRow> {
  const [row]: ShipmentRow[] = await db.query(`SELECT ${SHIPMENT_COLUMNS} FROM shipping.shipments WHERE order_id = $1`, [orderId]);
  return row;
}
