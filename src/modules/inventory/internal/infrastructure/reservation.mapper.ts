import type { ReservationStatus, ReservationView } from '../../contract/reservation.view.js';

/** A `reservations` row as Postgres returns it: the driver has already parsed the jsonb columns. */
export interface ReservationRow {
  readonly order_id: string;
  readonly status: ReservationStatus;
  readonly lines: ReadonlyArray<{ readonly sku: string; readonly quantity: number }>;
  readonly shortages: readonly string[];
}

/** The columns every reservation query selects, so every row maps the same way. */
export const RESERVATION_COLUMNS = 'order_id, status, lines, shortages';

export function rowToReservationView(row: ReservationRow): ReservationView {
  return {
    orderId: row.order_id,
    status: row.status,
    // Rebuilt field by field: jsonb keeps no key order, and a view carries nothing but its fields.
    lines: row.lines.map((line) => ({ sku: line.sku, quantity: line.quantity })),
    // Sorted here, by code point, so the same shortage always reads the same, whatever the database's collation.
    shortages: [...row.shortages].sort(),
  };
}
