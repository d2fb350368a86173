import pg from 'pg';

/**
 * The invariants of store-api.md, checked with an admin connection that reads
 * every module's schema (answering the violations, for a report; tests throw on them). Call when
 * quiet: after `waitForQuiet`.
 */
export async function storeInvariantViolations(adminUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const violations: string[] = [];
    const check = async (what: string, sql: string) => {
      const { rows } = await client.query(sql);
      if (rows.length > 0) violations.push(`${what}: ${JSON.stringify(rows.slice(0, 5))}`);
    };
    await check(
      'sum of CAPTURED payments differs from the sum of CONFIRMED order totals',
      `SELECT captured, confirmed FROM
         (SELECT coalesce(sum(amount_cents), 0)::bigint AS captured FROM payments.payments WHERE status = 'CAPTURED') p,
         (SELECT coalesce(sum(total_cents), 0)::bigint AS confirmed FROM orders.orders WHERE status = 'CONFIRMED') o
        WHERE captured <> confirmed`,
    );
    await check(
      'a CANCELLED order has a CAPTURED payment',
      `SELECT o.id FROM orders.orders o JOIN payments.payments p ON p.order_id = o.id WHERE o.status = 'CANCELLED' AND p.status = 'CAPTURED'`,
    );
    await check(
      'a CANCELLED order has stock reserved',
      `SELECT o.id FROM orders.orders o JOIN inventory.reservations r ON r.order_id = o.id WHERE o.status = 'CANCELLED' AND r.status = 'RESERVED'`,
    );
    await check(
      'a CANCELLED order has a SCHEDULED shipment',
      `SELECT o.id FROM orders.orders o JOIN shipping.shipments s ON s.order_id = o.id WHERE o.status = 'CANCELLED' AND s.status = 'SCHEDULED'`,
    );
    await check(
      'a CONFIRMED order is not paid, reserved and scheduled',
      `SELECT o.id FROM orders.orders o
        WHERE o.status = 'CONFIRMED' AND NOT (
          EXISTS (SELECT 1 FROM payments.payments p WHERE p.order_id = o.id AND p.status = 'CAPTURED' AND p.amount_cents = o.total_cents)
          AND EXISTS (SELECT 1 FROM inventory.reservations r WHERE r.order_id = o.id AND r.status = 'RESERVED')
          AND EXISTS (SELECT 1 FROM shipping.shipments s WHERE s.order_id = o.id AND s.status = 'SCHEDULED'))`,
    );
    await check('onHand or reserved is negative', `SELECT sku FROM inventory.products WHERE on_hand < 0 OR reserved < 0`);
    await check(
      'reserved differs from the sum of RESERVED reservations',
      `SELECT p.sku, p.reserved, coalesce(r.held, 0) AS held
         FROM inventory.products p
         LEFT JOIN (SELECT l->>'sku' AS sku, sum((l->>'quantity')::int) AS held
                      FROM inventory.reservations, jsonb_array_elements(lines) l
                     WHERE status = 'RESERVED' GROUP BY 1) r ON r.sku = p.sku
        WHERE p.reserved <> coalesce(r.held, 0)`,
    );
    await check(
      'stock committed to CONFIRMED orders exceeds what was stocked',
      `SELECT l.sku, sum(l.quantity) AS committed, p.on_hand
         FROM orders.orders o JOIN orders.order_lines l ON l.order_id = o.id
         JOIN inventory.products p ON p.sku = l.sku
        WHERE o.status = 'CONFIRMED' GROUP BY l.sku, p.on_hand HAVING sum(l.quantity) > p.on_hand`,
    );
    await check('an order was charged more than once', `SELECT order_id FROM payments.payments GROUP BY order_id HAVING count(*) > 1`);
    return violations;
  } finally {
    await client.end();
  }
}

/**
 * Waits until no order is PENDING (every saga has ended) and answers the
 * orders by status; `onWait` hears how many are still pending.
 */
export async function waitForQuiet(
  adminUrl: string,
  timeoutMs: number,
  onWait: (pending: number) => void = () => {},
): Promise<{ quiet: boolean; counts: Record<string, number> }> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const { rows } = await client.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM orders.orders GROUP BY status');
      const counts = Object.fromEntries(rows.map((row) => [row.status, row.n]));
      if (!counts.PENDING) return { quiet: true, counts };
      if (performance.now() > deadline) return { quiet: false, counts };
      onWait(counts.PENDING);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await client.end();
  }
}
