import { DERIVED_KEY_PREFIX } from '../../src/platform/transport/remote-client.js';
import pg from 'pg';
import type { Normaliser } from './normalise.js';

/**
 * The store's final state after the scenario, read with SQL over the admin
 * connection (it reads every module's schema; no module can): products,
 * orders with their lines, payments, reservations, shipments, each order's
 * saga log as a sequence of steps, and each order's notifications in the order made. Keyed by natural keys (sku, normalised
 * order id) rather than row positions, so one differing row does not shift
 * every row after it. Timestamps are left out; internal ids are normalised.
 */
export type FinalState = Record<string, Record<string, unknown>>;

export async function readFinalState(adminUrl: string, normaliser: Normaliser): Promise<FinalState> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const q = async <T extends pg.QueryResultRow>(sql: string) => (await client.query<T>(sql)).rows;
    // Orders first, in the order they were placed, so that any id the transcript did not show is numbered predictably.
    const orders = await q<{
      id: string;
      customer_id: string;
      status: string;
      failure_reason: string | null;
      total_cents: string;
      payment_id: string | null;
      shipment_id: string | null;
      idempotency_key: string | null;
    }>(
      `SELECT id, customer_id, status, failure_reason, total_cents, payment_id, shipment_id, idempotency_key
         FROM orders.orders ORDER BY created_at, id`,
    );
    const lines = await q<{ order_id: string; line_no: number; sku: string; quantity: number; unit_price_cents: number }>(
      'SELECT order_id, line_no, sku, quantity, unit_price_cents FROM orders.order_lines ORDER BY order_id, line_no',
    );
    // The saga engine's tables (orders.sagas, orders.saga_log), or a build from before it (checkout_sagas, checkout_log).
    const [{ engine }] = await q<{ engine: boolean }>(`SELECT to_regclass('orders.saga_log') IS NOT NULL AS engine`);
    const log = await q<{ order_id: string; step: string; status: string }>(
      engine ? 'SELECT key AS order_id, step, status FROM orders.saga_log ORDER BY id' : 'SELECT order_id, step, status FROM orders.checkout_log ORDER BY id',
    );
    const sagas = await q<{ order_id: string; step: string; failure_reason: string | null }>(
      engine
        ? `SELECT key AS order_id, step, failure_reason FROM orders.sagas WHERE saga = 'checkout'`
        : 'SELECT order_id, step, failure_reason FROM orders.checkout_sagas',
    );
    const payments = await q<{ id: string; order_id: string; amount_cents: number; token: string; status: string }>(
      'SELECT id, order_id, amount_cents, token, status FROM payments.payments ORDER BY created_at, id',
    );
    const reservations = await q<{ order_id: string; status: string; lines: unknown; shortages: unknown }>(
      'SELECT order_id, status, lines, shortages FROM inventory.reservations ORDER BY created_at, order_id',
    );
    const shipments = await q<{ id: string; order_id: string; status: string; address_country: string; address_city: string }>(
      'SELECT id, order_id, status, address_country, address_city FROM shipping.shipments ORDER BY created_at, id',
    );
    const notifications = await q<{ id: string; order_id: string; customer_id: string; kind: string; reason: string | null }>(
      'SELECT id, order_id, customer_id, kind, reason FROM notifications.notifications ORDER BY position',
    );
    const products = await q<{ sku: string; name: string; price_cents: number; on_hand: number; reserved: number }>(
      'SELECT sku, name, price_cents, on_hand, reserved FROM inventory.products ORDER BY sku',
    );

    // Ids the transcript never showed are named by where the state holds them; the site sorts after every step.
    const id = (value: string | null, site: string) => (value === null ? null : normaliser.token(value, `9999 state ${site}`));
    const state: FinalState = { orders: {}, payments: {}, reservations: {}, shipments: {}, sagas: {}, notifications: {}, products: {} };
    orders.forEach((o, i) => {
      state.orders[id(o.id, `orders[${i}]`)!] = {
        customerId: o.customer_id,
        status: o.status,
        failureReason: o.failure_reason,
        totalCents: Number(o.total_cents),
        paymentId: id(o.payment_id, `orders[${i}].paymentId`),
        shipmentId: id(o.shipment_id, `orders[${i}].shipmentId`),
        // A key the gateway made up for its own retries (the client sent none) is not part of the outcome.
        idempotencyKey: o.idempotency_key?.startsWith(DERIVED_KEY_PREFIX) ? null : o.idempotency_key,
        lines: lines.filter((l) => l.order_id === o.id).map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceCents: l.unit_price_cents })),
      };
    });
    orders.forEach((o, i) => {
      const saga = sagas.find((s) => s.order_id === o.id);
      state.sagas[id(o.id, `orders[${i}]`)!] = {
        steps: log.filter((e) => e.order_id === o.id).map((e) => `${e.step} ${e.status}`),
        sagaStep: saga?.step ?? null,
        sagaFailureReason: saga?.failure_reason ?? null,
      };
    });
    // Keyed by order: at most one of each per order (unique constraints), and the order is the natural key.
    payments.forEach(
      (p, i) =>
        (state.payments[id(p.order_id, `payments[${i}].orderId`)!] = {
          paymentId: id(p.id, `payments[${i}]`),
          amountCents: p.amount_cents,
          token: p.token,
          status: p.status,
        }),
    );
    reservations.forEach(
      (r, i) => (state.reservations[id(r.order_id, `reservations[${i}].orderId`)!] = { status: r.status, lines: r.lines, shortages: r.shortages }),
    );
    shipments.forEach(
      (s, i) =>
        (state.shipments[id(s.order_id, `shipments[${i}].orderId`)!] = {
          shipmentId: id(s.id, `shipments[${i}]`),
          status: s.status,
          country: s.address_country,
          city: s.address_city,
        }),
    );
    // Keyed by order, each order's list in the order made: at most one per kind (unique), the confirmation first.
    notifications.forEach((n, i) => {
      const key = id(n.order_id, `notifications[${i}].orderId`)!;
      const list = (state.notifications[key] ?? []) as unknown[];
      list.push({ notificationId: id(n.id, `notifications[${i}]`), customerId: n.customer_id, kind: n.kind, reason: n.reason });
      state.notifications[key] = list;
    });
    for (const p of products) state.products[p.sku] = { name: p.name, priceCents: p.price_cents, onHand: p.on_hand, reserved: p.reserved };
    return normaliser.value(state, '9999 state') as FinalState;
  } finally {
    await client.end();
  }
}
