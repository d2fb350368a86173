import pg from 'pg';

/**
 * The invariants of store-api.md, checked with an admin connection that reads
 * every module's schema (answering the violations, for a report; tests throw on them). Call when
 * quiet: after `waitForQuiet`. `onCheck` hears each invariant checked and whether it held (the
 * explorer counts them). DELIVERED orders (the delivery workflow) are checked when there are any.
 */
export async function storeInvariantViolations(adminUrl: string, onCheck: (invariant: string, held: boolean) => void = () => {}): Promise<string[]> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const violations: string[] = [];
    const check = async (what: string, sql: string) => {
      const { rows } = await client.query(sql);
      onCheck(what, rows.length === 0);
      if (rows.length > 0) violations.push(`${what}: ${JSON.stringify(rows.slice(0, 5))}`);
    };
    await check(
      'sum of CAPTURED payments differs from the sum of CONFIRMED and DELIVERED order totals',
      `SELECT captured, confirmed FROM
         (SELECT coalesce(sum(amount_cents), 0)::bigint AS captured FROM payments.payments WHERE status = 'CAPTURED') p,
         (SELECT coalesce(sum(total_cents), 0)::bigint AS confirmed FROM orders.orders WHERE status IN ('CONFIRMED', 'DELIVERED')) o
        WHERE captured <> confirmed`,
    );
    await check(
      'a CANCELLED order has a CAPTURED payment',
      `SELECT o.id FROM orders.orders o JOIN payments.payments p ON p.order_id = o.id WHERE o.status = 'CANCELLED' AND p.status = 'CAPTURED'`,
    );
    await check(
      // A charge's intent is replaced by the provider's answer, or voided by a refund, before its saga moves on.
      'a settled order has a charge still AUTHORIZING',
      `SELECT o.id FROM orders.orders o JOIN payments.payments p ON p.order_id = o.id
        WHERE o.status IN ('CONFIRMED', 'CANCELLED', 'DELIVERED') AND p.status = 'AUTHORIZING'`,
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
    await check(
      'a DELIVERED order is not paid, its stock committed and its shipment DELIVERED',
      `SELECT o.id FROM orders.orders o
        WHERE o.status = 'DELIVERED' AND NOT (
          EXISTS (SELECT 1 FROM payments.payments p WHERE p.order_id = o.id AND p.status = 'CAPTURED' AND p.amount_cents = o.total_cents)
          AND EXISTS (SELECT 1 FROM inventory.reservations r WHERE r.order_id = o.id AND r.status = 'COMMITTED')
          AND EXISTS (SELECT 1 FROM shipping.shipments s WHERE s.order_id = o.id AND s.status = 'DELIVERED'))`,
    );
    await check(
      // Sold only by a delivery: the order is DELIVERED, or its customer's cancellation overtook the delivery
      // after the parcel arrived (the sale stands, the charge is refunded: ADR 33).
      'a COMMITTED reservation belongs to an order that was not delivered',
      `SELECT r.order_id, o.status, o.failure_reason FROM inventory.reservations r LEFT JOIN orders.orders o ON o.id = r.order_id
        WHERE r.status = 'COMMITTED' AND NOT (
          o.status = 'DELIVERED'
          OR (o.status = 'CANCELLED' AND o.failure_reason = 'CANCELLED_BY_CUSTOMER'
              AND EXISTS (SELECT 1 FROM shipping.shipments s WHERE s.order_id = o.id AND s.status = 'DELIVERED')))`,
    );
    await check(
      // RETURNED only on the carrier's word. NOT_DELIVERED when the deadline came first, as Orders heard it:
      // the carrier's word may still come, or may have reached Shipping in time and Orders too late (a
      // crash between them; found by the explorer, seed 7 on monolith): then the shipment says what the
      // carrier said, DELIVERED or RETURNED. Either way, never still SCHEDULED.
      'an order RETURNED has its shipment RETURNED; one NOT_DELIVERED has its shipment cancelled or ended by the carrier',
      `SELECT o.id, o.failure_reason, s.status FROM orders.orders o JOIN shipping.shipments s ON s.order_id = o.id
        WHERE (o.failure_reason = 'RETURNED' AND s.status <> 'RETURNED')
           OR (o.failure_reason = 'NOT_DELIVERED' AND s.status NOT IN ('CANCELLED', 'DELIVERED', 'RETURNED'))`,
    );
    await check('onHand or reserved is negative', `SELECT sku FROM inventory.products WHERE on_hand < 0 OR reserved < 0`);
    await check(
      // A COMMITTED reservation was sold: its lines left on_hand and reserved together, and hold nothing.
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
    if (!(await hasNotifications(client))) {
      violations.push('notifications.notifications does not exist: the notifications module was never started on this database');
      return violations;
    }
    await check(
      'a settled order does not have exactly its notifications (CONFIRMED: one ORDER_CONFIRMED; DELIVERED: that, then one REVIEW_REQUESTED once its review delay has passed; CANCELLED: one ORDER_CANCELLED, after one ORDER_CONFIRMED if it had been confirmed)',
      `SELECT o.id, o.status, o.failure_reason, n.kinds
         FROM orders.orders o
         LEFT JOIN LATERAL (SELECT array_agg(kind ORDER BY position) AS kinds FROM notifications.notifications WHERE order_id = o.id) n ON true
        WHERE o.status IN ('CONFIRMED', 'CANCELLED', 'DELIVERED')
          AND n.kinds IS DISTINCT FROM CASE
                WHEN o.status = 'CONFIRMED' THEN ARRAY['ORDER_CONFIRMED']
                WHEN o.status = 'DELIVERED' AND ${reviewDue(await hasSagas(client))} THEN ARRAY['ORDER_CONFIRMED', 'REVIEW_REQUESTED']
                WHEN o.status = 'DELIVERED' AND n.kinds = ARRAY['ORDER_CONFIRMED', 'REVIEW_REQUESTED'] THEN n.kinds
                WHEN o.status = 'DELIVERED' THEN ARRAY['ORDER_CONFIRMED']
                WHEN o.failure_reason IN ${CONFIRMED_FIRST} THEN ARRAY['ORDER_CONFIRMED', 'ORDER_CANCELLED']
                ELSE ARRAY['ORDER_CANCELLED'] END`,
    );
    await check(
      "a notification does not match its order (customer, or a cancellation's reason)",
      `SELECT n.id, n.order_id, n.kind, n.reason, n.customer_id, o.customer_id AS order_customer, o.failure_reason
         FROM notifications.notifications n LEFT JOIN orders.orders o ON o.id = n.order_id
        WHERE o.id IS NULL OR n.customer_id <> o.customer_id
           OR (n.kind = 'ORDER_CANCELLED' AND n.reason IS DISTINCT FROM o.failure_reason)
           OR (n.kind IN ('ORDER_CONFIRMED', 'REVIEW_REQUESTED') AND n.reason IS NOT NULL)`,
    );
    return violations;
  } finally {
    await client.end();
  }
}

/**
 * Waits until no order is PENDING or CANCELLING (every saga has ended) and
 * every terminal order has the notifications its status calls for (they follow
 * the order's status by an event, eventually), and answers the orders by
 * status, with `NOTIFICATIONS_MISSING` while some are still missing at the
 * deadline. `onWait` hears how many orders are still pending, or still await
 * a notification. Exactly-once is then for `storeInvariantViolations` to check.
 */
export async function waitForQuiet(
  adminUrl: string,
  timeoutMs: number,
  onWait: (pending: number) => void = () => {},
  /** `deliveriesEnded`: also wait until no delivery waits (for the carrier, or a review): with short delivery times, they all end. */
  options: { readonly deliveriesEnded?: boolean } = {},
): Promise<{ quiet: boolean; counts: Record<string, number> }> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const deadline = performance.now() + timeoutMs;
    const notifications = await hasNotifications(client);
    for (;;) {
      const { rows } = await client.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM orders.orders GROUP BY status');
      const counts: Record<string, number> = Object.fromEntries(rows.map((row) => [row.status, row.n]));
      const unsettled = (counts.PENDING ?? 0) + (counts.CANCELLING ?? 0) + (await deliveriesMoving(client, options.deliveriesEnded === true));
      const missing = unsettled === 0 && notifications ? await missingNotifications(client) : 0;
      if (unsettled === 0 && missing === 0) return { quiet: true, counts };
      if (performance.now() > deadline) return { quiet: false, counts: missing > 0 ? { ...counts, NOTIFICATIONS_MISSING: missing } : counts };
      onWait(unsettled || missing);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await client.end();
  }
}

/**
 * A DELIVERED order whose review delay has passed: its delivery workflow ended (the review's sleep is its
 * last wait), so a REVIEW_REQUESTED is due. False on a build without the workflow's table.
 */
function reviewDue(sagas: boolean): string {
  return sagas
    ? `EXISTS (SELECT 1 FROM orders.sagas d WHERE d.saga = 'delivery' AND d.key = o.id::text AND d.status = 'DONE' AND d.failure_reason IS NULL)`
    : 'false';
}

async function hasSagas(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ found: boolean }>(`SELECT to_regclass('orders.sagas') IS NOT NULL AS found`);
  return rows[0].found;
}

/** The reasons of orders cancelled after they were confirmed (by their customer, or their delivery): they have both notifications. */
const CONFIRMED_FIRST = `('CANCELLED_BY_CUSTOMER', 'RETURNED', 'NOT_DELIVERED')`;

async function hasNotifications(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ found: boolean }>(`SELECT to_regclass('notifications.notifications') IS NOT NULL AS found`);
  return rows[0].found;
}

/**
 * Deliveries between the carrier's word and the order's move (ADR 33): a shipment the carrier settled
 * whose CONFIRMED order its delivery has yet to take up (the event is on its way), or a delivery
 * running its steps (not waiting). Not quiet: the order is about to change. 0 on a build without them.
 */
async function deliveriesMoving(client: pg.Client, waitingToo: boolean): Promise<number> {
  if (!(await hasSagas(client)) || !(await runsDeliveries(client))) return 0;
  const moving = await client.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM orders.orders o JOIN shipping.shipments s ON s.order_id = o.id
              WHERE o.status = 'CONFIRMED' AND s.status IN ('DELIVERED', 'RETURNED'))::int
          + (SELECT count(*) FROM orders.sagas WHERE saga = 'delivery' AND status = ANY($1::text[]))::int
          -- A CONFIRMED order whose delivery has not begun: its confirmation is on its way to Orders' own subscriber.
          -- When every delivery must have ended, any CONFIRMED order is one still to end.
          + (SELECT count(*) FROM orders.orders o
              WHERE o.status = 'CONFIRMED' AND ($2 OR NOT EXISTS (SELECT 1 FROM orders.sagas d WHERE d.saga = 'delivery' AND d.key = o.id::text)))::int AS n`,
    [waitingToo ? ['RUNNING', 'WAITING'] : ['RUNNING'], waitingToo],
  );
  return moving.rows[0].n;
}

/** Whether the store's schema is of a build with the delivery workflow (its orders migration ran). */
async function runsDeliveries(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ found: boolean }>(
    `SELECT to_regclass('orders.migrations') IS NOT NULL AND EXISTS (SELECT 1 FROM orders.migrations WHERE name = 'DeliveredOrders1765300000000') AS found`,
  );
  return rows[0].found;
}

/** How many terminal orders still lack a notification their status calls for (none is a quiet moment). */
async function missingNotifications(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM orders.orders o
      WHERE ((o.status IN ('CONFIRMED', 'DELIVERED') OR o.failure_reason IN ${CONFIRMED_FIRST})
             AND NOT EXISTS (SELECT 1 FROM notifications.notifications n WHERE n.order_id = o.id AND n.kind = 'ORDER_CONFIRMED'))
         OR (o.status = 'DELIVERED' AND ${reviewDue(await hasSagas(client))}
             AND NOT EXISTS (SELECT 1 FROM notifications.notifications n WHERE n.order_id = o.id AND n.kind = 'REVIEW_REQUESTED'))
         OR (o.status = 'CANCELLED'
             AND NOT EXISTS (SELECT 1 FROM notifications.notifications n WHERE n.order_id = o.id AND n.kind = 'ORDER_CANCELLED'))`,
  );
  return rows[0].n;
}
