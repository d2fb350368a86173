import pg from 'pg';
import { builtMain, type SpawnedStore, spawnStore, stopAllStores } from '../support/spawn-store.js';
import { assertStoreInvariants, waitForQuiet } from '../support/store-invariants.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http } from '../support/test-store.js';

/**
 * Both of Orders' sagas survive a crash: the built store is SIGKILLed in the
 * middle of a burst of checkouts and customer cancellations (POSTs in flight,
 * sagas of both kinds leased mid-step). Then either it is started again on the
 * same database, or a second replica that was serving beside it all along goes
 * on alone. Every order ends terminal, with the log of its path; each is
 * charged at most once and refunded at most once; money and stock balance
 * (the store's invariants).
 *
 * Timing: a saga the dead process held stays leased until its lease runs out
 * (leaseMs: 10 s with these settings), so recovery takes about one lease.
 */

// The burst goes on until the kill condition holds (how soon depends on the machine's speed and
// load: a fixed count was sometimes over before enough sagas were leased at once), never beyond this.
const MAX_BURST = 1_000;
const CONCURRENCY = 12;
const KILL_AFTER_ACCEPTED = 50;
const KILL_AFTER_CANCELLING = 8;
const MAX_LEASE_MS = 10_000;

const STORE_ENV = (url: string) => ({
  DATABASE_URL: url,
  CHECKOUT_STEP_TIMEOUT_MS: '2000',
  CHECKOUT_DEADLINE_MS: String(MAX_LEASE_MS * 12),
  CHECKOUT_RETRY_DELAY_MS: '50',
  // Every order of the burst must be accepted (the test is about the crash, not overload): the
  // in-flight bound (ADR 16) would refuse part of a burst that arrives before the rate is measured.
  CHECKOUT_ADMISSION_MIN_IN_FLIGHT: '100000',
});

const PLENTY = { sku: 'SAGA-CRASH', name: 'Kettle', priceCents: 1500, stock: 100_000 };

const CHECKOUT_LOG = [
  'CHARGE_PAYMENT STARTED',
  'CHARGE_PAYMENT SUCCEEDED',
  'RESERVE_STOCK STARTED',
  'RESERVE_STOCK SUCCEEDED',
  'SCHEDULE_SHIPMENT STARTED',
  'SCHEDULE_SHIPMENT SUCCEEDED',
];
const CANCELLATION_LOG = [
  'CANCEL_SHIPMENT STARTED',
  'CANCEL_SHIPMENT SUCCEEDED',
  'RELEASE_STOCK STARTED',
  'RELEASE_STOCK SUCCEEDED',
  'REFUND_PAYMENT STARTED',
  'REFUND_PAYMENT SUCCEEDED',
];

const checkout = (i: number) => ({
  customerId: `saga-crash-${i}`,
  items: [{ sku: PLENTY.sku, quantity: 1 + (i % 3) }],
  paymentToken: 'tok_visa',
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
});

describe('a SIGKILL in the middle of a burst of checkouts and cancellations', () => {
  let database: TestDatabase | undefined;

  beforeAll(() => {
    builtMain();
  });
  afterEach(async () => {
    await stopAllStores();
    await database?.drop();
    database = undefined;
  });

  it.each([
    ['restarted on the same database', 'restart'],
    ['with a second replica serving beside it', 'replica'],
  ] as const)(
    'every order ends terminal, charged and refunded at most once, when the killed process is %s',
    async (_title, mode) => {
      database = await createTestDatabase('mf_saga_crash');
      const db = database;
      const victim = spawnStore(STORE_ENV(db.url));
      const victimBase = { url: `http://127.0.0.1:${await victim.port()}` };
      const survivor: SpawnedStore | undefined = mode === 'replica' ? spawnStore(STORE_ENV(db.url)) : undefined;
      const survivorBase = survivor ? { url: `http://127.0.0.1:${await survivor.port()}` } : undefined;
      expect((await http(victimBase, 'POST', '/inventory/products', PLENTY)).status).toBe(201);

      // Checkout workers place orders (on the victim; with a replica, every other one on the survivor),
      // cancel workers cancel every other order once it is CONFIRMED; a watcher kills the victim once
      // enough of both are under way and it holds leases.
      const accepted: string[] = [];
      const toCancel: string[] = [];
      const cancelAccepted = new Set<string>();
      const cancelUnanswered = new Set<string>();
      let next = 0;
      let killed: Promise<unknown> | undefined;
      let over = false;
      const target = (i: number) => (survivorBase && i % 2 === 1 ? survivorBase : victimBase);
      const watcher = watchLeases(db.url, (leased) => {
        if (!over && accepted.length >= KILL_AFTER_ACCEPTED && cancelAccepted.size >= KILL_AFTER_CANCELLING && leased >= 2) {
          killed ??= victim.stop('SIGKILL');
        }
        return killed !== undefined || over;
      });
      watcher.catch(() => {});
      const checkouts = Array.from({ length: CONCURRENCY }, async () => {
        while (!killed && next < MAX_BURST) {
          const i = next++;
          try {
            const response = await http(target(i), 'POST', '/orders', checkout(i));
            if (response.status === 202) {
              accepted.push(response.body.orderId);
              if (i % 2 === 0) toCancel.push(response.body.orderId);
            }
          } catch {
            // the connection died with the victim
          }
        }
      });
      const cancels = Array.from({ length: 4 }, async (_, worker) => {
        while (!killed && !(over && toCancel.length === 0)) {
          const orderId = toCancel.shift();
          if (!orderId) {
            await new Promise((resolve) => setTimeout(resolve, 10));
            continue;
          }
          const via = survivorBase && worker % 2 === 1 ? survivorBase : victimBase;
          try {
            const order = await http(via, 'GET', `/orders/${orderId}`);
            if (order.body.status !== 'CONFIRMED') {
              if (order.body.status === 'PENDING') toCancel.push(orderId);
              await new Promise((resolve) => setTimeout(resolve, 5));
              continue;
            }
            cancelUnanswered.add(orderId);
            const cancelled = await http(via, 'POST', `/orders/${orderId}/cancel`);
            expect(cancelled.status).toBe(202);
            cancelUnanswered.delete(orderId);
            cancelAccepted.add(orderId);
          } catch {
            // the connection died with the victim: this cancellation may or may not have started
          }
        }
      });
      await Promise.all(checkouts);
      over = true;
      await Promise.all(cancels);
      await watcher;
      expect(killed).toBeDefined();
      expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
      const atCrash = await leasedByKind(db.url);
      console.log(
        `${mode}: ${accepted.length} orders accepted, ${cancelAccepted.size} cancellations accepted; leased at the crash: ${JSON.stringify(atCrash)}`,
      );
      expect(Object.values(atCrash).reduce((sum, n) => sum + n, 0)).toBeGreaterThan(0);

      const after = survivor ?? spawnStore(STORE_ENV(db.url));
      const base = survivorBase ?? { url: `http://127.0.0.1:${await after.port()}` };
      const counts = await waitForQuiet(db.url, MAX_LEASE_MS + 60_000);
      console.log(`${mode}: quiet again: ${JSON.stringify(counts)}`);

      for (const orderId of accepted) {
        const order = (await http(base, 'GET', `/orders/${orderId}`)).body;
        // The checkout's and the cancellation's entries; a CONFIRMED order's delivery waits too (AWAIT_DELIVERY): delivery.e2e.spec checks it.
        const log = (await http(base, 'GET', `/orders/${orderId}/saga`)).body
          .filter((e: { step: string }) => e.step !== 'AWAIT_DELIVERY')
          .map((e: { step: string; status: string }) => `${e.step} ${e.status}`);
        const payments = (await http(base, 'GET', `/payments?orderId=${orderId}`)).body.map((p: { status: string }) => p.status);
        const where = `order ${orderId} ${order.status}/${order.failureReason}`;
        if (order.failureReason === 'CANCELLED_BY_CUSTOMER') {
          expect([where, log]).toEqual([where, [...CHECKOUT_LOG, ...CANCELLATION_LOG]]);
          expect([where, payments]).toEqual([where, ['REFUNDED']]);
        } else {
          // Not cancelled by its customer: then no cancellation was accepted for it.
          expect([where, cancelAccepted.has(orderId)]).toEqual([where, false]);
          expect([where, order.status, log]).toEqual([where, 'CONFIRMED', CHECKOUT_LOG]);
          expect([where, payments]).toEqual([where, ['CAPTURED']]);
        }
      }
      // Every order in the database, the unanswered POSTs' included: money and stock balance, one charge and one refund at most.
      await assertStoreInvariants(db.url);
      expect(await after.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    },
    MAX_LEASE_MS + 150_000,
  );
});

/** Polls how many sagas some runner holds a lease on, and hands it to `onCount` until that answers true. */
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

async function leasedByKind(adminUrl: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ saga: string; n: number }>(
      `SELECT saga, count(*)::int AS n FROM orders.sagas WHERE status = 'RUNNING' AND locked_until > now() GROUP BY saga`,
    );
    return Object.fromEntries(rows.map((row) => [row.saga, row.n]));
  } finally {
    await client.end();
  }
}
