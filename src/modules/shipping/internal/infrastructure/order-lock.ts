import type { EntityManager } from 'typeorm';

/**
 * First key of Shipping's per-order advisory locks ('SHIP' in ASCII). Advisory
 * locks are per database, and modules may share one: with a first key of its
 * own (Payments has another), Shipping never waits on another module's order
 * locks, and the two-key form never meets the one-key lock of provisioning.
 */
const ORDER_LOCK_KEY = 0x53484950;

/**
 * Holds the order's lock until the transaction ends. Schedule and cancel take
 * it first, so "cancel finds no shipment and voids the order" and "schedule
 * finds the order not voided and inserts a shipment" can never interleave.
 * Two orders whose ids hash alike share a lock: they merely queue behind
 * each other.
 */
export async function lockOrder(manager: EntityManager, orderId: string): Promise<void> {
  await manager.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [ORDER_LOCK_KEY, orderId]);
}
