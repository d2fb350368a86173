import type { EntityManager } from 'typeorm';

/*
 * Orders whose compensation arrived before the original command did (the
 * caller timed out and compensated; the original may still be on its way).
 * A voided order is never acted on again. Callers hold the order's lock.
 */

export async function isVoided(manager: EntityManager, orderId: string): Promise<boolean> {
  const rows: unknown[] = await manager.query('SELECT 1 FROM shipping.voided_orders WHERE order_id = $1', [orderId]);
  return rows.length > 0;
}

export async function recordVoid(manager: EntityManager, orderId: string): Promise<void> {
  // Voiding twice (a retried compensation) is the same void.
  await manager.query('INSERT INTO shipping.voided_orders (order_id) VALUES ($1) ON CONFLICT (order_id) DO NOTHING', [orderId]);
}
