import pg from 'pg';
import { builtMain, type SpawnedStore, spawnStore, stopAllStores } from '../support/spawn-store.js';
import { assertStoreInvariants, waitForQuiet } from '../support/store-invariants.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http } from '../support/test-store.js';

/**
 * The checkout saga survives a crash: the built store is SIGKILLed in the
 * middle of a burst of checkouts (POSTs in flight, sagas leased mid-step; the
 * burst mixes every saga path: confirm, declined card, AQ, scarce stock),
 * started again on the same database, and every accepted order still reaches
 * the terminal state its path calls for, with the saga log of that path, at
 * most one charge, and the store's invariants intact.
 *
 * Timing: a saga the dead process had claimed stays leased until its lease
 * runs out (checkout-saga.options.ts: leaseMs, derived from
 * CHECKOUT_STEP_TIMEOUT_MS with a floor), so recovery takes about one lease
 * after the crash. The saga deadline is raised well past the lease so that a
 * resumed saga finishes its own path (the point here) rather than timing out.
 */

// The burst goes on until the kill condition holds (how soon depends on the machine's speed and
// load: a fixed count could end before enough sagas were leased at once), never beyond this.
const MAX_BURST = 1_000;
const CONCURRENCY = 20;
/**
 * SIGKILL once this many POSTs have answered 202 and the runner is in the middle
 * of at least KILL_WHEN_LEASED sagas: requests and sagas are then in flight.
 */
const KILL_AFTER_ACCEPTED = 60;
const KILL_WHEN_LEASED = 2;
/** The longest saga lease this test allows for (the lease was 30 s, then 10 s): it bounds the waits below. */
const MAX_LEASE_MS = 30_000;

/**
 * LOG_LEVEL stays at its default (info): spawn-store learns the port from the
 * "serving on port N" line, which is logged at info and so hidden by warn.
 */
const STORE_ENV = (url: string) => ({
  DATABASE_URL: url,
  CHECKOUT_STEP_TIMEOUT_MS: '2000',
  CHECKOUT_DEADLINE_MS: String(MAX_LEASE_MS * 6),
  CHECKOUT_RETRY_DELAY_MS: '50',
  // Every order of the burst must be accepted (the test is about the crash, not overload): the
  // in-flight bound (ADR 16) would refuse part of a burst that arrives before the rate is measured.
  CHECKOUT_ADMISSION_MIN_IN_FLIGHT: '100000',
});

const PLENTY = { sku: 'CRASH-PLENTY', name: 'Kettle', priceCents: 2599, stock: 100_000 };
/** Scarce: 8 in stock, 2 per order, so at most 4 scarce orders can be confirmed and the rest go OUT_OF_STOCK. */
const SCARCE = { sku: 'CRASH-SCARCE', name: 'Limited teapot', priceCents: 9900, stock: 8 };
const SCARCE_QUANTITY = 2;

type Path = 'confirm' | 'declined' | 'no-shipping' | 'scarce';

/** Which saga path the i-th order of the burst takes; every path occurs among the first requests of the burst. */
function pathOf(i: number): Path {
  if (i % 10 === 1) return 'declined';
  if (i % 10 === 4) return 'no-shipping';
  if (i % 5 === 2) return 'scarce';
  return 'confirm';
}

function checkout(i: number, path: Path) {
  return {
    customerId: `crash-${i}`,
    items: [path === 'scarce' ? { sku: SCARCE.sku, quantity: SCARCE_QUANTITY } : { sku: PLENTY.sku, quantity: 1 + (i % 3) }],
    paymentToken: path === 'declined' ? 'tok_declined' : 'tok_visa',
    shippingAddress: {
      name: 'Ada',
      line1: '1 Main St',
      city: path === 'no-shipping' ? 'McMurdo' : 'Oslo',
      postalCode: '0150',
      country: path === 'no-shipping' ? 'AQ' : 'NO',
    },
  };
}

const started = (step: string) => ({ step, status: 'STARTED' });
const succeeded = (step: string) => ({ step, status: 'SUCCEEDED' });
const failed = (step: string) => ({ step, status: 'FAILED' });

/** The whole saga log of each ending (store-api.md, the checkout saga). */
const LOG_OF = {
  CONFIRMED: [
    started('CHARGE_PAYMENT'),
    succeeded('CHARGE_PAYMENT'),
    started('RESERVE_STOCK'),
    succeeded('RESERVE_STOCK'),
    started('SCHEDULE_SHIPMENT'),
    succeeded('SCHEDULE_SHIPMENT'),
  ],
  PAYMENT_DECLINED: [started('CHARGE_PAYMENT'), failed('CHARGE_PAYMENT')],
  OUT_OF_STOCK: [
    started('CHARGE_PAYMENT'),
    succeeded('CHARGE_PAYMENT'),
    started('RESERVE_STOCK'),
    failed('RESERVE_STOCK'),
    started('REFUND_PAYMENT'),
    succeeded('REFUND_PAYMENT'),
  ],
  SHIPPING_UNAVAILABLE: [
    started('CHARGE_PAYMENT'),
    succeeded('CHARGE_PAYMENT'),
    started('RESERVE_STOCK'),
    succeeded('RESERVE_STOCK'),
    started('SCHEDULE_SHIPMENT'),
    failed('SCHEDULE_SHIPMENT'),
    started('RELEASE_STOCK'),
    succeeded('RELEASE_STOCK'),
    started('REFUND_PAYMENT'),
    succeeded('REFUND_PAYMENT'),
  ],
} as const;

/** What each path must end as. */
const ENDINGS: Record<Path, ReadonlyArray<keyof typeof LOG_OF>> = {
  confirm: ['CONFIRMED'],
  declined: ['PAYMENT_DECLINED'],
  'no-shipping': ['SHIPPING_UNAVAILABLE'],
  scarce: ['CONFIRMED', 'OUT_OF_STOCK'],
};

describe('a SIGKILL in the middle of a burst of checkouts', () => {
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    builtMain(); // "run npm run build" rather than a spawn error
    database = await createTestDatabase('mf_crash');
  });
  afterAll(async () => {
    await stopAllStores(); // no orphan store, whatever failed
    await database?.drop();
  });

  it(
    'every accepted order reaches its terminal state after a restart, invariants intact',
    async () => {
      const db = database!;
      const first = spawnStore(STORE_ENV(db.url));
      let base = { url: `http://127.0.0.1:${await first.port()}` };
      for (const product of [PLENTY, SCARCE]) {
        expect((await http(base, 'POST', '/inventory/products', product)).status).toBe(201);
      }

      // The burst: CONCURRENCY workers take the next order; a watcher kills the store once
      // 60 POSTs have answered 202 and the runner holds leases on sagas it is running.
      const accepted = new Map<string, Path>();
      const refused: string[] = [];
      let unanswered = 0;
      let next = 0;
      let killed: Promise<unknown> | undefined;
      let burstOver = false;
      const watcher = watchLeases(db.url, (leased) => {
        if (!burstOver && accepted.size >= KILL_AFTER_ACCEPTED && leased >= KILL_WHEN_LEASED) killed ??= first.stop('SIGKILL');
        return killed !== undefined || burstOver;
      });
      watcher.catch(() => {}); // awaited (and its failure reported) after the burst
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (!killed && next < MAX_BURST) {
            const i = next++;
            const path = pathOf(i);
            try {
              const response = await http(base, 'POST', '/orders', checkout(i, path));
              if (response.status === 202) accepted.set(response.body.orderId, path);
              else refused.push(`#${i}: ${response.status} ${JSON.stringify(response.body)}`);
            } catch {
              unanswered++; // the connection died with the store: the order may or may not exist
            }
          }
        }),
      );
      burstOver = true;
      await watcher;
      expect(killed).toBeDefined(); // the store died mid-burst, not after it
      expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(refused).toEqual([]);

      // The crash did catch sagas in the middle of a step (leased by the dead process), else this test would prove little.
      const atCrash = await sagaSteps(db.url);
      console.log(`crash: ${accepted.size} orders accepted, ${unanswered} POSTs unanswered; sagas at the crash by step: ${JSON.stringify(atCrash.steps)}`);
      expect(atCrash.leased).toBeGreaterThan(0);
      const crashedAt = Date.now();

      // Restart on the same database; the sagas the dead process held resume when their lease runs out.
      const second: SpawnedStore = spawnStore(STORE_ENV(db.url));
      base = { url: `http://127.0.0.1:${await second.port()}` };
      const counts = await waitForQuiet(db.url, MAX_LEASE_MS + 60_000);
      console.log(`recovered ${((Date.now() - crashedAt) / 1000).toFixed(1)} s after the crash: ${JSON.stringify(counts)}`);

      const endings: Record<string, number> = {};
      let scarceConfirmed = 0;
      for (const [orderId, path] of accepted) {
        const order = await http(base, 'GET', `/orders/${orderId}`);
        expect(order.status).toBe(200);
        const ending = (order.body.status === 'CONFIRMED' ? 'CONFIRMED' : order.body.failureReason) as keyof typeof LOG_OF;
        const where = `order ${orderId} (${path}) ended ${order.body.status}/${order.body.failureReason}`;
        expect([where, ENDINGS[path].includes(ending)]).toEqual([where, true]);
        endings[ending] = (endings[ending] ?? 0) + 1;
        if (path === 'scarce' && ending === 'CONFIRMED') scarceConfirmed++;

        // The log of exactly that path: a step re-run after the crash logs nothing twice.
        const saga = await http(base, 'GET', `/orders/${orderId}/saga`);
        expect(saga.status).toBe(200);
        // The checkout's entries; a CONFIRMED order's delivery waits too (AWAIT_DELIVERY): delivery.e2e.spec checks it.
        const checkoutEntries = saga.body.filter(({ step }: { step: string }) => step !== 'AWAIT_DELIVERY');
        expect([where, checkoutEntries.map(({ step, status }: { step: string; status: string }) => ({ step, status }))]).toEqual([where, LOG_OF[ending]]);

        // Charged at most once, and the one payment is in the state the ending calls for.
        const payments = await http(base, 'GET', `/payments?orderId=${orderId}`);
        expect(payments.status).toBe(200);
        const paymentStatus = { CONFIRMED: 'CAPTURED', PAYMENT_DECLINED: 'DECLINED', OUT_OF_STOCK: 'REFUNDED', SHIPPING_UNAVAILABLE: 'REFUNDED' }[ending];
        expect([where, payments.body.map((p: { status: string; amountCents: number }) => [p.status, p.amountCents])]).toEqual([
          where,
          [[paymentStatus, order.body.totalCents]],
        ]);

        const shipments = await http(base, 'GET', `/shipments?orderId=${orderId}`);
        expect(shipments.status).toBe(200);
        const scheduled = shipments.body.filter((s: { status: string }) => s.status === 'SCHEDULED');
        if (ending === 'CONFIRMED') {
          expect([where, scheduled.map((s: { shipmentId: string }) => s.shipmentId)]).toEqual([where, [order.body.shipmentId]]);
          expect(order.body.paymentId).toBe(payments.body[0].paymentId);
        } else {
          expect([where, scheduled]).toEqual([where, []]);
        }
      }
      console.log(`accepted orders by ending: ${JSON.stringify(endings)}`);

      // Scarce stock is never oversold, whatever the crash interrupted.
      expect(scarceConfirmed).toBeLessThanOrEqual(SCARCE.stock / SCARCE_QUANTITY);
      const scarce = await http(base, 'GET', `/inventory/products/${SCARCE.sku}`);
      expect(scarce.body.onHand).toBe(SCARCE.stock);
      expect(scarce.body.available).toBeGreaterThanOrEqual(0);

      // Every order in the database, the unanswered POSTs' included: the invariants of store-api.md.
      await assertStoreInvariants(db.url);
      expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    },
    MAX_LEASE_MS + 150_000,
  );
});

/**
 * Polls how many sagas a runner holds a lease on (it is running their step)
 * and hands the count to `onCount` until that answers true.
 */
async function watchLeases(adminUrl: string, onCount: (leased: number) => boolean): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (;;) {
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders.sagas WHERE status = 'RUNNING' AND locked_until > now()`);
      if (onCount(rows[0].n)) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await client.end();
  }
}

/** How many sagas are at each step, and how many of those the dead process holds a lease on (it was running them), read as admin. */
async function sagaSteps(adminUrl: string): Promise<{ steps: Record<string, string>; leased: number }> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ step: string; n: number; leased: number }>(
      `SELECT step, count(*)::int AS n, count(*) FILTER (WHERE locked_until > now())::int AS leased
         FROM orders.sagas WHERE saga = 'checkout' GROUP BY step ORDER BY step`,
    );
    return {
      steps: Object.fromEntries(rows.map((row) => [row.step, row.step === 'DONE' ? `${row.n}` : `${row.n} (${row.leased} leased)`])),
      leased: rows.reduce((sum, row) => sum + row.leased, 0),
    };
  } finally {
    await client.end();
  }
}
