import type { EntityManager } from 'typeorm';

export interface StockRow {
  readonly sku: string;
  readonly on_hand: number;
  readonly reserved: number;
}

export interface StockChange {
  readonly sku: string;
  readonly quantity: number;
}

/**
 * Locks the products of `skus` (those that exist) for the rest of the
 * transaction and answers their stock. Always in sku order: two transactions
 * that need overlapping products then queue on the first product they share
 * instead of each holding one the other waits for (a deadlock). ORDER BY is
 * applied below the row locking, so the locks are taken in that order.
 */
export async function lockStock(manager: EntityManager, skus: readonly string[]): Promise<StockRow[]> {
  return manager.query(
    `SELECT sku, on_hand, reserved FROM inventory.products
     WHERE sku = ANY($1::text[])
     ORDER BY sku
     FOR UPDATE`,
    [skus],
  );
}

/**
 * Adds `sign * quantity` to `reserved` of every sku, in one statement. The
 * caller holds the rows' locks (lockStock) and has checked the change fits;
 * the table's CHECK (0 <= reserved <= on_hand) is only the last line of defence.
 * Skus must be distinct: UPDATE ... FROM applies one match per row.
 */
export async function shiftReserved(manager: EntityManager, changes: readonly StockChange[], sign: 1 | -1): Promise<void> {
  await manager.query(
    `UPDATE inventory.products AS p
     SET reserved = p.reserved + $3::int * c.quantity, updated_at = now()
     FROM unnest($1::text[], $2::int[]) AS c(sku, quantity)
     WHERE p.sku = c.sku`,
    [changes.map((change) => change.sku), changes.map((change) => change.quantity), sign],
  );
}

/**
 * Sells what is reserved: `quantity` comes off both `on_hand` and `reserved` of every
 * sku, in one statement, so `available` (on_hand - reserved) is unchanged. The caller
 * holds the rows' locks (lockStock) and the reservation that held these quantities.
 */
export async function takeReserved(manager: EntityManager, changes: readonly StockChange[]): Promise<void> {
  await manager.query(
    `UPDATE inventory.products AS p
     SET on_hand = p.on_hand - c.quantity, reserved = p.reserved - c.quantity, updated_at = now()
     FROM unnest($1::text[], $2::int[]) AS c(sku, quantity)
     WHERE p.sku = c.sku`,
    [changes.map((change) => change.sku), changes.map((change) => change.quantity)],
  );
}
