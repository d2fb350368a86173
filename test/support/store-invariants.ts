import { storeInvariantViolations, waitForQuiet as waitUntilQuiet } from '../../tools/support/store-invariants.js';

/**
 * The invariants of store-api.md, checked from the outside with an admin
 * connection that reads every module's schema (no module can). Call at a
 * quiet moment: after `waitForQuiet`, when no order is PENDING.
 */
export async function assertStoreInvariants(adminUrl: string): Promise<void> {
  const violations = await storeInvariantViolations(adminUrl);
  if (violations.length > 0) throw new Error(`store invariants violated:\n- ${violations.join('\n- ')}`);
}

/**
 * Waits until no order is PENDING or CANCELLING, no delivery is between the
 * carrier's word and the order's move (every saga has ended or waits), and every
 * terminal order has its notifications (bounded polling: they follow by events),
 * and answers the orders by status.
 */
export async function waitForQuiet(adminUrl: string, timeoutMs = 30_000): Promise<Record<string, number>> {
  const { quiet, counts } = await waitUntilQuiet(adminUrl, timeoutMs);
  if (!quiet) throw new Error(`orders still PENDING, or notifications missing, after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
  return counts;
}
