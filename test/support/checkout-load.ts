import type { TopologyProcesses } from '../../tools/topology/topology-processes.js';
import { eventually } from './eventually.js';

const ADDRESS = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };

/** A closed-loop checkout load against a gateway: what it sent, and what was accepted. */
export interface CheckoutLoad {
  /** Order ids answered 202 (or 200, which a request without an Idempotency-Key must never get: the tests refuse it). */
  readonly accepted: string[];
  /** Answers by HTTP status (0: no answer, the connection failed). */
  readonly statuses: Map<number, number>;
  /** Stops the workers after their request in flight. */
  stop(): Promise<void>;
}

async function post(url: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/**
 * Stocks the two products the load buys: one plentiful, one that runs out (so some checkouts compensate).
 * A 503 (a remote module slow to answer its first call on a busy machine) is retried; a 409 after it
 * means the attempt that timed out created the product all the same.
 */
export async function stockProducts(url: string): Promise<void> {
  for (const [sku, stock] of [
    ['PLENTY', 100_000],
    ['SCARCE', 20],
  ] as const) {
    const deadline = Date.now() + 60_000;
    for (let unavailable = false; ;) {
      const response = await post(url, '/inventory/products', { sku, name: sku, priceCents: 1000, stock });
      const text = await response.text();
      if (response.status === 201 || (response.status === 409 && unavailable)) break;
      if (response.status !== 503 || Date.now() > deadline) throw new Error(`stocking ${sku} answered ${response.status}: ${text}`);
      unavailable = true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** `workers` clients posting checkouts one after the other (some declined, some undeliverable) until stopped. */
export function startCheckoutLoad(url: string, workers: number): CheckoutLoad {
  const accepted: string[] = [];
  const statuses = new Map<number, number>();
  let stopped = false;
  let sent = 0;
  const worker = async () => {
    while (!stopped) {
      const n = sent++;
      let status = 0;
      try {
        const response = await post(url, '/orders', {
          customerId: `c-${n % 50}`,
          items: [{ sku: n % 3 === 0 ? 'SCARCE' : 'PLENTY', quantity: 1 }],
          paymentToken: n % 17 === 0 ? 'tok_declined' : 'tok_visa',
          shippingAddress: n % 23 === 0 ? { ...ADDRESS, country: 'AQ' } : ADDRESS,
        });
        status = response.status;
        if (status === 202 || status === 200) accepted.push(((await response.json()) as { orderId: string }).orderId);
        else await response.text();
      } catch {
        // no answer: counted as status 0
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, status === 202 || status === 200 ? 5 : 50));
    }
  };
  const running = Promise.all(Array.from({ length: workers }, worker));
  return {
    accepted,
    statuses,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

/**
 * Retries a checkout until one is accepted and then CONFIRMED (the database is usable again from
 * end to end), answering when that was; a declined or cancelled order counts as not yet.
 */
export async function checkoutConfirms(url: string, timeoutMs: number): Promise<number> {
  return eventually(
    async () => {
      const response = await post(url, '/orders', {
        customerId: 'after-the-outage',
        items: [{ sku: 'PLENTY', quantity: 1 }],
        paymentToken: 'tok_visa',
        shippingAddress: ADDRESS,
      });
      if (response.status !== 202) throw new Error(`checkout answered ${response.status}: ${await response.text()}`);
      const { orderId } = (await response.json()) as { orderId: string };
      await eventually(
        async () => {
          const order = (await (await fetch(`${url}/orders/${orderId}`)).json()) as { status: string };
          if (order.status === 'PENDING') throw new Error(`order ${orderId} still PENDING`);
          if (order.status !== 'CONFIRMED') throw new Error(`order ${orderId} ended ${order.status}`);
        },
        15_000,
        50,
      );
      return performance.now();
    },
    timeoutMs,
    100,
  );
}

/** The processes of a topology that are no longer running, with how they ended. */
export function deadProcesses(topology: TopologyProcesses): string[] {
  return [...topology.processes]
    .filter(([, running]) => !running.child || running.child.exitCode !== null || running.child.signalCode !== null)
    .map(([name, running]) => `${name} (${running.child?.signalCode ?? running.child?.exitCode ?? 'not started'})`);
}
