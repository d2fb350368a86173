import { createHmac } from 'node:crypto';
import { prng } from '../support/stats.js';
import type { WorkloadMix } from './explore-schedule.js';

export const PLENTY_SKU = 'EXPLORE-PLENTY';
export const SCARCE_SKU = 'EXPLORE-SCARCE';
const SCARCE_STOCK = 5;
const ADDRESS = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };

export type RequestKind = 'confirmable' | 'declined' | 'outOfStock' | 'shippingUnavailable' | 'cancel';

export interface WorkloadResult {
  /** Requests sent, by kind. */
  readonly sent: Readonly<Record<RequestKind, number>>;
  /** Answers by "<kind> <status>" ("network error" for a refused or timed-out request). */
  readonly answers: Readonly<Record<string, number>>;
  /** Orders the store acknowledged (2xx with an orderId): each must exist, settled, afterwards. */
  readonly acknowledged: readonly string[];
  /** Cancellations the store accepted (202). */
  readonly cancellations: readonly string[];
  /** Carrier webhooks the store accepted (204), by event: DELIVERED and RETURNED. */
  readonly carrierEvents: Readonly<Record<string, number>>;
}

export interface WorkloadOptions {
  readonly seed: number;
  readonly gatewayUrls: readonly string[];
  readonly rate: number;
  readonly durationMs: number;
  readonly mix: WorkloadMix;
  /** A customer id of this run's own. */
  readonly customer: string;
  /** Requests in flight at most; a tick over it sends nothing (a stopped gateway must not pile up sockets). */
  readonly maxInFlight?: number;
  /**
   * The carrier's webhook secret (the processes hosting Shipping hold it): a confirmed order then gets
   * DELIVERED, RETURNED or no carrier event at all (its delivery deadline passes), as the seed draws.
   */
  readonly carrierSecret?: string;
}

/** The products every schedule sells: one that never runs out, one that does after a few orders. */
export async function createProducts(gatewayUrl: string): Promise<void> {
  for (const [sku, stock] of [
    [PLENTY_SKU, 1_000_000],
    [SCARCE_SKU, SCARCE_STOCK],
  ] as const) {
    // Before any fault, but on a machine that may be slow: a 503 ("did not answer in time: it may
    // have been done all the same") is asked again, and a 409 then means the first one was done.
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(`${gatewayUrl}/inventory/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sku, name: sku, priceCents: 1_250, stock }),
      });
      if (response.status === 201 || (response.status === 409 && attempt > 1)) break;
      if (response.status !== 503 || attempt === 10) throw new Error(`creating ${sku}: ${response.status} ${await response.text()}`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/**
 * The load of one schedule: a request every 1/rate s (open loop: a slow store
 * does not slow it), its kind drawn from the seed in the schedule's mix.
 * Checkouts carry an Idempotency-Key and one that got no answer (or a 503) is
 * sent once more with it, as a careful client does; a cancellation names an
 * order the store acknowledged at least a second before (most are CONFIRMED
 * by then; a 409 for one that is not is part of the contract). With a carrier
 * secret, a third of the confirmable orders are then DELIVERED by the carrier's
 * signed webhook, a third RETURNED, and a third hear nothing (their delivery
 * deadline passes): the delivery workflow runs under the same faults, and
 * races the customers' cancellations.
 */
export async function runWorkload(options: WorkloadOptions): Promise<WorkloadResult> {
  const random = prng((options.seed ^ 0x5eed) >>> 0);
  const sent: Record<RequestKind, number> = { confirmable: 0, declined: 0, outOfStock: 0, shippingUnavailable: 0, cancel: 0 };
  const answers: Record<string, number> = {};
  const acknowledged: Array<{ id: string; at: number }> = [];
  const cancellations: string[] = [];
  const cancelTried = new Set<string>();
  const carrierEvents: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = options.maxInFlight ?? 64;
  const count = (key: string) => (answers[key] = (answers[key] ?? 0) + 1);
  let next = 0;

  const send = async (kind: RequestKind, path: string, body: string, key?: string): Promise<{ status: number; body: unknown }> => {
    const url = `${options.gatewayUrls[next++ % options.gatewayUrls.length]}${path}`;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      count(`${kind} ${response.status}`);
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    } catch {
      count(`${kind} network error`);
      return { status: 0, body: undefined };
    }
  };

  /** The carrier's word about an order's parcel, once the order is CONFIRMED (its shipment known), signed as the carrier signs it. */
  const carrier = async (orderId: string, event: 'DELIVERED' | 'RETURNED') => {
    for (let attempt = 0; attempt < 10; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      try {
        const response = await fetch(`${options.gatewayUrls[next++ % options.gatewayUrls.length]}/orders/${orderId}`, { signal: AbortSignal.timeout(10_000) });
        const order = (await response.json()) as { status?: string; shipmentId?: string | null };
        if (order.status === 'PENDING') continue;
        // Cancelled by its checkout: no parcel to speak of.
        if (!order.shipmentId) return;
        const text = JSON.stringify({ shipmentId: order.shipmentId, event, at: new Date().toISOString() });
        const t = Math.floor(Date.now() / 1000);
        const signature = `t=${t},v1=${createHmac('sha256', options.carrierSecret!).update(`${t}.${text}`).digest('hex')}`;
        const answer = await fetch(`${options.gatewayUrls[next++ % options.gatewayUrls.length]}/shipping/carrier-events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'carrier-signature': signature },
          body: text,
          signal: AbortSignal.timeout(10_000),
        });
        count(`carrier ${event} ${answer.status}`);
        if (answer.status === 204) {
          carrierEvents[event] = (carrierEvents[event] ?? 0) + 1;
          return;
        }
        if (answer.status !== 503) return;
      } catch {
        count(`carrier ${event} network error`);
      }
    }
  };

  const checkout = async (kind: RequestKind, i: number, draw: number) => {
    const body = JSON.stringify({
      customerId: options.customer,
      items: [{ sku: kind === 'outOfStock' ? SCARCE_SKU : PLENTY_SKU, quantity: 1 }],
      paymentToken: kind === 'declined' ? 'tok_declined' : 'tok_visa',
      shippingAddress: kind === 'shippingUnavailable' ? { ...ADDRESS, country: 'AQ' } : ADDRESS,
    });
    const key = `${options.customer}-${i}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await send(kind, '/orders', body, key);
      const orderId = (answer.body as { orderId?: string } | undefined)?.orderId;
      if (answer.status >= 200 && answer.status < 300 && orderId) {
        acknowledged.push({ id: orderId, at: performance.now() });
        if (kind === 'confirmable' && options.carrierSecret && draw < 2 / 3) await carrier(orderId, draw < 1 / 3 ? 'DELIVERED' : 'RETURNED');
        return;
      }
      if (answer.status !== 0 && answer.status !== 503) return;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  };

  const cancel = async (draw: number) => {
    const now = performance.now();
    const eligible = acknowledged.filter((o) => now - o.at > 1_000 && !cancelTried.has(o.id));
    if (eligible.length === 0) return;
    const order = eligible[Math.floor(draw * eligible.length)];
    cancelTried.add(order.id);
    const answer = await send('cancel', `/orders/${order.id}/cancel`, '{}');
    if (answer.status === 202) cancellations.push(order.id);
  };

  const start = performance.now();
  const total = Math.floor((options.durationMs / 1000) * options.rate);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / options.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // Both draws every tick, whatever is sent: the same seed makes the same sequence of decisions.
    const kind = kindOf(random() * 100, options.mix);
    const draw = random();
    if (inFlight.size >= maxInFlight) {
      count(`${kind} skipped (too many in flight)`);
      continue;
    }
    sent[kind]++;
    const request = (kind === 'cancel' ? cancel(draw) : checkout(kind, i, draw)).finally(() => inFlight.delete(request));
    inFlight.add(request);
  }
  await Promise.allSettled([...inFlight]);
  return { sent, answers, acknowledged: acknowledged.map((o) => o.id), cancellations, carrierEvents };
}

function kindOf(roll: number, mix: WorkloadMix): RequestKind {
  let edge = 0;
  for (const kind of ['confirmable', 'declined', 'outOfStock', 'shippingUnavailable', 'cancel'] as const) {
    edge += mix[kind];
    if (roll < edge) return kind;
  }
  return 'confirmable';
}
