import { createHmac } from 'node:crypto';
import pg from 'pg';
import { exchange, type RequestSpec, type Seen } from './http-exchange.js';
import { prng } from './stats.js';

/**
 * The deterministic checkout scenario replayed against every topology: every
 * path of the checkout saga (happy, declined, out of stock with refund,
 * multi-line all-or-nothing, shipping unavailable), idempotency, the
 * delivery workflow (the carrier's signed webhook: delivered and reviewed,
 * returned, a cancellation while waiting, late carrier events), the
 * customer's notifications, and bad input.
 * One request at a time, and every order waited for until it has settled
 * (terminal status, the saga DONE, and its notification made) before the next
 * request, so that what is recorded depends on the store's behaviour, never on timing. The seed
 * picks the values (skus, prices, stock levels, quantities); the steps are fixed.
 */
export interface TranscriptEntry {
  readonly n: number;
  /** What the step is for, e.g. "decline: the order after it settled". */
  readonly label: string;
  /** "POST /orders" (ids as sent; normalised later with the rest). */
  readonly request: string;
  readonly seen: Seen;
}

const MISSING = 'missing-id';

/**
 * The carrier's webhook secret of a compared store (run-compare gives it to the processes that host
 * Shipping only) and the review delay: the scenario's deliveries settle within a second or two. The
 * delivery deadline keeps its default (days): no order of the script waits for it, so nothing happens
 * at a moment that depends on timing.
 */
export const COMPARE_CARRIER_SECRET = 'whsec_compare_scenario';
export const COMPARE_DELIVERY_ENV = { REVIEW_DELAY_MS: '1000' } as const;
/** Fixed ids for the 404 cases, so that the transcript holds no random value. */
const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000';

export interface ScenarioValues {
  readonly skus: { readonly plenty: string; readonly scarce: string; readonly extra: string };
  readonly prices: { readonly plenty: number; readonly scarce: number; readonly extra: number };
  readonly stock: { readonly plenty: number; readonly scarce: number; readonly extra: number };
  readonly restock: number;
  readonly happyQuantity: number;
  readonly customer: string;
}

export function scenarioValues(seed: number): ScenarioValues {
  const random = prng(seed);
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const tag = between(100, 999);
  return {
    skus: { plenty: `KETTLE-${tag}`, scarce: `MUG-${tag}`, extra: `TEAPOT-${tag}` },
    prices: { plenty: between(500, 9999), scarce: between(100, 2999), extra: between(1000, 19999) },
    stock: { plenty: between(20, 60), scarce: between(1, 3), extra: between(3, 9) },
    restock: between(1, 10),
    happyQuantity: between(1, 4),
    customer: `cust-${between(1, 9999)}`,
  };
}

export class ScenarioRunner {
  readonly entries: TranscriptEntry[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly admin: pg.Client,
    private readonly onStep: (n: number, label: string) => void,
    private readonly settleTimeoutMs = 60_000,
  ) {}

  async send(label: string, spec: RequestSpec): Promise<Seen> {
    const n = this.entries.length + 1;
    this.onStep(n, label);
    const seen = await exchange(this.baseUrl, spec);
    this.entries.push({ n, label, request: `${spec.method} ${spec.path}`, seen });
    return seen;
  }

  /** POST /orders; answers the orderId when the store gave one. */
  async place(label: string, body: unknown, headers?: Record<string, string>): Promise<string | undefined> {
    const seen = await this.send(label, { method: 'POST', path: '/orders', json: body, headers });
    const id = (seen.body as { orderId?: unknown } | null)?.orderId;
    return seen.status >= 200 && seen.status < 300 && typeof id === 'string' ? id : undefined;
  }

  /** The carrier's webhook for a shipment, signed as the carrier signs it (store-api.md, Shipping). */
  async carrier(label: string, shipmentId: string, event: 'DELIVERED' | 'RETURNED'): Promise<Seen> {
    const text = JSON.stringify({ shipmentId, event, at: '2026-12-07T10:00:00.000Z' });
    const t = Math.floor(Date.now() / 1000);
    const signature = `t=${t},v1=${createHmac('sha256', COMPARE_CARRIER_SECRET).update(`${t}.${text}`).digest('hex')}`;
    return this.send(label, {
      method: 'POST',
      path: '/shipping/carrier-events',
      raw: { contentType: 'application/json', text },
      headers: { 'carrier-signature': signature },
    });
  }

  /**
   * Waits until the order is no longer PENDING (as a client sees it), its
   * sagas are DONE (read with SQL: compensations finished) or, CONFIRMED, its
   * delivery waits for the carrier, and the notification its status calls for
   * is made (they follow by an event, eventually; a DELIVERED order's review
   * request after its delay); recorded as a step whose outcome is whether it
   * settled, not how long it took.
   */
  async settle(label: string, orderId: string | undefined, moved?: 'DELIVERED' | 'CANCELLED'): Promise<void> {
    const n = this.entries.length + 1;
    this.onStep(n, label);
    let outcome: Record<string, unknown>;
    if (!orderId) outcome = { settled: false, why: 'no order id to wait for' };
    else {
      const deadline = performance.now() + this.settleTimeoutMs;
      let last: string;
      for (;;) {
        const seen = await exchange(this.baseUrl, { method: 'GET', path: `/orders/${orderId}` });
        const status = (seen.body as { status?: string } | null)?.status;
        last = seen.status === 200 ? `order ${status}` : `GET answered ${seen.status}`;
        // `moved`: the carrier has spoken; the order is settled once its delivery has moved it there (and never
        // will be if it ended otherwise: a checkout that was cancelled).
        if (seen.status === 200 && moved !== undefined && status !== moved && (status === 'CANCELLED' || status === 'DELIVERED')) {
          outcome = { settled: false, why: `order ${status}, not ${moved}` };
          break;
        }
        if (seen.status === 200 && status !== 'PENDING' && (moved === undefined || status === moved)) {
          // Every saga of the order (its checkout, a cancellation, its delivery) must have ended: DONE, or no saga at
          // all; a CONFIRMED order's delivery must be waiting for the carrier (it starts from the confirmation's event).
          const { rows } = await this.admin
            .query<{ step: string }>(
              `SELECT step FROM (
                 SELECT step FROM orders.sagas WHERE key = $1 AND NOT (saga = 'delivery' AND status = 'WAITING' AND step = 'AWAIT_DELIVERY')
                 UNION ALL SELECT 'NO_DELIVERY_YET' WHERE $2 AND NOT EXISTS (SELECT 1 FROM orders.sagas WHERE key = $1 AND saga = 'delivery')
               ) s ORDER BY step = 'DONE' LIMIT 1`,
              [orderId, status === 'CONFIRMED'],
            )
            // A build from before the saga engine.
            .catch(() => this.admin.query<{ step: string }>('SELECT step FROM orders.checkout_sagas WHERE order_id = $1', [orderId]));
          const kind = status === 'CONFIRMED' ? 'ORDER_CONFIRMED' : status === 'DELIVERED' ? 'REVIEW_REQUESTED' : 'ORDER_CANCELLED';
          if (rows.length === 0 || rows[0].step === 'DONE') {
            const notified = await this.admin.query('SELECT 1 FROM notifications.notifications WHERE order_id = $1 AND kind = $2', [orderId, kind]);
            if (notified.rowCount) {
              outcome = { settled: true };
              break;
            }
            last = `order ${status}, saga DONE, no ${kind} notification yet`;
          } else last = `order ${status}, saga at ${rows[0].step}`;
        } else if (seen.status !== 200 && seen.status !== 0 && seen.status < 500) {
          outcome = { settled: false, why: `GET /orders/:id answered ${seen.status}` };
          break;
        }
        if (performance.now() > deadline) {
          outcome = { settled: false, why: `not settled within ${this.settleTimeoutMs} ms (last: ${last})` };
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    this.entries.push({ n, label, request: `(wait until order ${orderId ?? MISSING} settles)`, seen: { status: 0, headers: {}, body: outcome } });
  }
}

/** Runs the whole script against one topology's gateway and answers the transcript. */
export async function runScenario(baseUrl: string, adminUrl: string, seed: number, onStep: (n: number, label: string) => void): Promise<TranscriptEntry[]> {
  const v = scenarioValues(seed);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const s = new ScenarioRunner(baseUrl, admin, onStep);
    const address = { name: 'Ada Lovelace', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };
    const order = (items: Array<{ sku: string; quantity: number }>, extra: Record<string, unknown> = {}) => ({
      customerId: v.customer,
      items,
      paymentToken: 'tok_visa',
      shippingAddress: address,
      ...extra,
    });
    const get = (label: string, path: string) => s.send(label, { method: 'GET', path });
    const idOf = (seen: Seen, field: string) => {
      const value = (seen.body as Record<string, unknown> | null)?.[field];
      return typeof value === 'string' ? value : MISSING;
    };
    const notifications = `/notifications?customerId=${v.customer}`;
    /** The reads every settled order gets: the order, its saga log, its payments and shipments, the customer's notifications. */
    const inspect = async (what: string, orderId: string | undefined, moved?: 'DELIVERED' | 'CANCELLED') => {
      const id = orderId ?? MISSING;
      await s.settle(`${what}: wait until settled`, orderId, moved);
      const seen = await get(`${what}: the order`, `/orders/${id}`);
      await get(`${what}: the saga log`, `/orders/${id}/saga`);
      await get(`${what}: payments of the order`, `/payments?orderId=${id}`);
      await get(`${what}: shipments of the order`, `/shipments?orderId=${id}`);
      await get(`${what}: notifications of the customer`, notifications);
      return seen;
    };
    const product = (what: string, sku: string) => get(`${what}: product ${sku}`, `/inventory/products/${sku}`);

    // Catalogue.
    const { skus, prices, stock } = v;
    await s.send('setup: create the plentiful product', {
      method: 'POST',
      path: '/inventory/products',
      json: { sku: skus.plenty, name: 'Kettle', priceCents: prices.plenty, stock: stock.plenty },
    });
    await s.send('setup: create the scarce product', {
      method: 'POST',
      path: '/inventory/products',
      json: { sku: skus.scarce, name: 'Mug', priceCents: prices.scarce, stock: stock.scarce },
    });
    await s.send('setup: create a third product', {
      method: 'POST',
      path: '/inventory/products',
      json: { sku: skus.extra, name: 'Teapot', priceCents: prices.extra, stock: stock.extra },
    });
    await s.send('setup: the same sku again (409)', {
      method: 'POST',
      path: '/inventory/products',
      json: { sku: skus.plenty, name: 'Kettle again', priceCents: 1, stock: 1 },
    });
    await s.send('setup: restock the third product', { method: 'POST', path: `/inventory/products/${skus.extra}/restock`, json: { quantity: v.restock } });
    await product('setup', skus.plenty);

    // 1. Happy path.
    const happy = await s.place('happy: place the order', order([{ sku: skus.plenty, quantity: v.happyQuantity }]));
    const happyOrder = await inspect('happy', happy);
    await get('happy: the payment by id', `/payments/${idOf(happyOrder, 'paymentId')}`);
    await get('happy: the shipment by id', `/shipments/${idOf(happyOrder, 'shipmentId')}`);
    await product('happy: stock reserved', skus.plenty);

    // 2. Payment declined: nothing else happens.
    const declined = await s.place('decline: place with tok_declined', order([{ sku: skus.plenty, quantity: 1 }], { paymentToken: 'tok_declined' }));
    await inspect('decline', declined);
    await product('decline: stock untouched', skus.plenty);

    // 3. Out of stock: the charge is refunded.
    const short = await s.place('out of stock: place more than is available', order([{ sku: skus.scarce, quantity: stock.scarce + 1 }]));
    await inspect('out of stock', short);
    await product('out of stock: stock untouched', skus.scarce);

    // 4. Several lines, one short: all or nothing.
    const multiShort = await s.place(
      'multi-line all-or-nothing: one line short',
      order([
        { sku: skus.plenty, quantity: 1 },
        { sku: skus.extra, quantity: 1 },
        { sku: skus.scarce, quantity: stock.scarce + 2 },
      ]),
    );
    await inspect('multi-line all-or-nothing', multiShort);
    await product('multi-line all-or-nothing: nothing reserved', skus.plenty);
    await product('multi-line all-or-nothing: nothing reserved', skus.extra);

    // 5. Several lines, all available (the scarce one exactly used up).
    const multiOk = await s.place(
      'multi-line: every line available',
      order([
        { sku: skus.extra, quantity: 2 },
        { sku: skus.scarce, quantity: stock.scarce },
      ]),
    );
    await inspect('multi-line', multiOk);
    await product('multi-line: scarce product used up', skus.scarce);

    // 6. Shipping unavailable: the stock is released and the charge refunded.
    const antarctica = await s.place(
      'shipping unavailable: country AQ',
      order([{ sku: skus.plenty, quantity: 2 }], { shippingAddress: { ...address, country: 'AQ' } }),
    );
    await inspect('shipping unavailable', antarctica);
    await product('shipping unavailable: stock released', skus.plenty);

    // 7. Idempotency: the same key and body give the same order; another body is refused.
    const keyed = order([{ sku: skus.extra, quantity: 1 }]);
    const key = { 'idempotency-key': `checkout-${v.customer}-1` };
    const first = await s.place('idempotency: first POST with a key', keyed, key);
    await inspect('idempotency', first);
    await s.place('idempotency: same key, same body (same order, nothing new)', keyed, key);
    await s.place('idempotency: same key, other body (409)', order([{ sku: skus.extra, quantity: 2 }]), key);
    await get('idempotency: payments of the order (still one)', `/payments?orderId=${first ?? MISSING}`);
    await s.send('idempotency: a key over 200 characters (400)', {
      method: 'POST',
      path: '/orders',
      json: keyed,
      headers: { 'idempotency-key': 'k'.repeat(201) },
    });

    // 8. The same sku on two lines: merged or refused, the same everywhere.
    const twice = await s.place(
      'same sku twice: two lines of one sku',
      order([
        { sku: skus.plenty, quantity: 1 },
        { sku: skus.plenty, quantity: 2 },
      ]),
    );
    if (twice) await inspect('same sku twice', twice);

    // 9. Bad input.
    const bad = (label: string, spec: Omit<RequestSpec, 'method'>) => s.send(`bad input: ${label}`, { method: 'POST', ...spec });
    await bad('malformed JSON (400)', { path: '/orders', raw: { contentType: 'application/json', text: '{"customerId": "x", ' } });
    await bad('unknown property (400)', { path: '/orders', json: order([{ sku: skus.plenty, quantity: 1 }], { coupon: 'FREE' }) });
    await bad('unknown nested property (400)', {
      path: '/orders',
      json: order([{ sku: skus.plenty, quantity: 1 }], { shippingAddress: { ...address, floor: 3 } }),
    });
    await bad('quantity as a string (400)', { path: '/orders', json: order([{ sku: skus.plenty, quantity: '2' as unknown as number }]) });
    await bad('fractional quantity (400)', { path: '/orders', json: order([{ sku: skus.plenty, quantity: 1.5 }]) });
    await bad('no items (400)', { path: '/orders', json: order([]) });
    await bad('lower-case country (400)', {
      path: '/orders',
      json: order([{ sku: skus.plenty, quantity: 1 }], { shippingAddress: { ...address, country: 'no' } }),
    });
    await bad('malformed payment token (400)', { path: '/orders', json: order([{ sku: skus.plenty, quantity: 1 }], { paymentToken: 'visa' }) });
    await bad('unknown sku (422)', { path: '/orders', json: order([{ sku: 'NO-SUCH-SKU', quantity: 1 }]) });
    await bad('text/plain body (415)', { path: '/orders', raw: { contentType: 'text/plain', text: 'hello' } });
    await bad('body over 1 MiB (413)', { path: '/orders', json: order([{ sku: skus.plenty, quantity: 1 }], { customerId: 'x'.repeat(1024 * 1024 + 16) }) });
    await bad('invalid product (400)', { path: '/inventory/products', json: { sku: 'bad sku!', name: '', priceCents: -1, stock: 1.5 } });
    await bad('restock an unknown sku (404)', { path: '/inventory/products/NO-SUCH-SKU/restock', json: { quantity: 1 } });
    await get('bad input: unknown product (404)', '/inventory/products/NO-SUCH-SKU');
    await get('bad input: unknown order (404)', `/orders/${UNKNOWN_UUID}`);
    await get('bad input: order id that is not a uuid', '/orders/not-a-uuid');
    await get('bad input: saga of an unknown order (404)', `/orders/${UNKNOWN_UUID}/saga`);
    await get('bad input: unknown payment (404)', `/payments/${UNKNOWN_UUID}`);
    await get('bad input: unknown shipment (404)', `/shipments/${UNKNOWN_UUID}`);
    await get('bad input: notifications without a customer (400)', '/notifications');
    await get('bad input: notifications of an empty customer id (400)', '/notifications?customerId=');
    await get('bad input: notifications of a customer id over 100 characters (400)', `/notifications?customerId=${'c'.repeat(101)}`);
    await get('bad input: notifications of an unknown customer ([])', '/notifications?customerId=nobody');

    // 10. Delivery (store-api.md, "Delivery: a workflow that waits"): the carrier's signed webhook.
    const toDeliver = await s.place('delivery: place an order', order([{ sku: skus.extra, quantity: 1 }]));
    const waitingOrder = await inspect('delivery: confirmed, waiting for the carrier', toDeliver);
    await s.carrier('delivery: the carrier says DELIVERED (204)', idOf(waitingOrder, 'shipmentId'), 'DELIVERED');
    await inspect('delivery: delivered, and a review requested after the delay', toDeliver, 'DELIVERED');
    await product('delivery: the stock sold', skus.extra);
    await s.send('delivery: cancel a DELIVERED order (409)', { method: 'POST', path: `/orders/${toDeliver ?? MISSING}/cancel`, json: {} });
    await s.carrier('delivery: a late RETURNED (204, changes nothing)', idOf(waitingOrder, 'shipmentId'), 'RETURNED');
    await get('delivery: the order after the late event', `/orders/${toDeliver ?? MISSING}`);
    await get('delivery: its shipment after the late event', `/shipments?orderId=${toDeliver ?? MISSING}`);

    const toReturn = await s.place('returned: place an order', order([{ sku: skus.extra, quantity: 1 }]));
    const returnedOrder = await inspect('returned: confirmed, waiting for the carrier', toReturn);
    await s.carrier('returned: the carrier says RETURNED (204)', idOf(returnedOrder, 'shipmentId'), 'RETURNED');
    await inspect('returned: undone', toReturn, 'CANCELLED');
    await product('returned: stock released', skus.extra);

    const toCancel = await s.place('cancel while waiting: place an order', order([{ sku: skus.extra, quantity: 1 }]));
    const cancelledOrder = await inspect('cancel while waiting: confirmed, waiting for the carrier', toCancel);
    await s.send('cancel while waiting: the customer cancels (202)', { method: 'POST', path: `/orders/${toCancel ?? MISSING}/cancel`, json: {} });
    // Not its saga log: the delivery's end and the cancellation's steps are logged side by side, in either order.
    await s.settle('cancel while waiting: wait until settled', toCancel, 'CANCELLED');
    await get('cancel while waiting: the order', `/orders/${toCancel ?? MISSING}`);
    await get('cancel while waiting: payments of the order', `/payments?orderId=${toCancel ?? MISSING}`);
    await s.carrier('cancel while waiting: a late DELIVERED (204, changes nothing)', idOf(cancelledOrder, 'shipmentId'), 'DELIVERED');
    await get('cancel while waiting: the order after the late event', `/orders/${toCancel ?? MISSING}`);
    await get('cancel while waiting: shipments of the order', `/shipments?orderId=${toCancel ?? MISSING}`);
    await s.send('delivery: a carrier event wrongly signed (401)', {
      method: 'POST',
      path: '/shipping/carrier-events',
      raw: {
        contentType: 'application/json',
        text: JSON.stringify({ shipmentId: idOf(cancelledOrder, 'shipmentId'), event: 'RETURNED', at: '2026-12-07T10:00:00Z' }),
      },
      headers: { 'carrier-signature': 't=1,v1=00' },
    });
    await get('delivery: notifications of the customer', notifications);

    // Final stock and notifications as a client sees them.
    for (const sku of [skus.plenty, skus.scarce, skus.extra]) await product('final', sku);
    await get('final: notifications of the customer', notifications);
    return s.entries;
  } finally {
    await admin.end();
  }
}

/**
 * What the transcript itself says went wrong, whatever the other topologies did: a step whose label
 * names the status the contract answers ("… (409)", "… (204, changes nothing)") and got another, or an
 * order that never settled. Comparing topologies finds where they differ; this finds what they all got
 * wrong alike (a carrier secret the store does not share answers 401 everywhere, and the delivery
 * section then tests nothing).
 */
export function unmetExpectations(transcript: readonly TranscriptEntry[]): string[] {
  const unmet: string[] = [];
  for (const entry of transcript) {
    const named = /\((\d{3})\b[^)]*\)\s*$/.exec(entry.label);
    if (named && entry.seen.status !== Number(named[1])) unmet.push(`#${entry.n} ${entry.label}: answered ${entry.seen.status}`);
    const outcome = entry.seen.body as { settled?: boolean; why?: string } | null;
    if (entry.request.startsWith('(wait until') && outcome?.settled !== true) unmet.push(`#${entry.n} ${entry.label}: ${outcome?.why ?? 'not settled'}`);
  }
  return unmet;
}
