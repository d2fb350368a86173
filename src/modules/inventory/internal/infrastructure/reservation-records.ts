import type { EntityManager } from 'typeorm';
import { RESERVATION_COLUMNS, type ReservationRow } from './reservation.mapper.js';

/**
 * The order's record, locked for the rest of the transaction, or undefined when it
 * has none: of concurrent releases and commits of one order, one changes it, the
 * others then see what it did. Records are never deleted.
 */
export async function lockReservation(manager: EntityManager, orderId: string): Promise<ReservationRow | undefined> {
  const [row]: ReservationRow[] = await manager.query(`SELECT ${RESERVATION_COLUMNS} FROM inventory.reservations WHERE order_id = $1 FOR UPDATE`, [orderId]);
  return row;
}
