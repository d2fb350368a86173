import { randomBytes } from 'node:crypto';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { TopologyProcesses } from '../../tools/topology/topology-processes.js';
import { freePortRange } from '../../tools/support/network.js';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';
import { assertStoreInvariants, waitForQuiet } from '../support/store-invariants.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { failedTests } from '../support/failed-tests.js';

const address = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };

/**
 * The built store in the notifications-extracted topology: Notifications alone
 * (MODULES=notifications GATEWAY=off) and the rest with the gateway, over NATS.
 * Notifications is killed (SIGKILL) in the middle of a burst of checkouts, with
 * events in flight, and restarted. Checkouts never notice (no module calls
 * Notifications); afterwards every ended order has exactly the notification
 * its end calls for: none lost while it was down, none made twice by the
 * deliveries retried across the crash.
 */
describeWithNats('killing the notifications service during a burst of checkouts', () => {
  let database: TestDatabase;
  let topology: TopologyProcesses | undefined;
  const output: string[] = [];

  // A prefix of its own, whose event stream is deleted afterwards: nothing left on the shared NATS.
  const prefix = `t${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    topology = await TopologyProcesses.start({
      topology: 'notifications-extracted',
      modules: ['inventory', 'notifications', 'orders', 'payments', 'shipping'],
      port: await freePortRange(2),
      ownDatabases: false,
      databaseUrl: database.url,
      env: {
        LOG_LEVEL: 'error',
        NATS_URL,
        NATS_SUBJECT_PREFIX: prefix,
        REMOTE_CALL_TIMEOUT_MS: '500',
      },
      onLine: (name, line) => output.push(`${name}| ${line}`),
    });
  }, 90_000);

  afterAll(async () => {
    if (failedTests() > 0) console.log(output.slice(-40).join('\n'));
    await topology?.stop();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
    await database?.drop();
  });

  it('loses no notification and makes none twice', async () => {
    expect([...topology!.processes.keys()]).toEqual(['notifications', 'inventory+orders+payments+shipping']);
    const url = topology!.gatewayUrl;
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const [sku, stock] of [
      ['PLENTY', 10_000],
      ['SCARCE', 15],
    ] as const) {
      expect((await post('/inventory/products', { sku, name: sku, priceCents: 1000, stock })).status).toBe(201);
    }

    const accepted: Array<{ orderId: string; customerId: string }> = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    let acceptedWhileDown = 0;
    let acceptedAfterRestart = 0;
    let phase: 'before' | 'down' | 'back' = 'before';
    let restarted: Promise<void> | undefined;
    let backAt = 0;
    const started = Date.now();
    const worker = async () => {
      // Load before, during and after the outage: at least 6 s in all, and 2 s once notifications is back.
      while (Date.now() - started < 6_000 || phase !== 'back' || Date.now() - backAt < 2_000) {
        const n = sent++;
        if (n === 50) {
          phase = 'down';
          await topology!.stopProcess('notifications', 'SIGKILL');
          restarted = new Promise((resolve) => setTimeout(resolve, 1_500)).then(() => topology!.startProcess('notifications'));
          restarted.then(
            () => ((phase = 'back'), (backAt = Date.now())),
            () => ((phase = 'back'), (backAt = Date.now())),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
        const customerId = `c-${n}`;
        const during = phase;
        const response = await post('/orders', {
          customerId,
          items: [{ sku: n % 3 === 0 ? 'SCARCE' : 'PLENTY', quantity: 1 }],
          paymentToken: n % 17 === 0 ? 'tok_declined' : 'tok_visa',
          shippingAddress: n % 23 === 0 ? { ...address, country: 'AQ' } : address,
        });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 202) {
          accepted.push({ orderId: ((await response.json()) as { orderId: string }).orderId, customerId });
          if (during === 'down') acceptedWhileDown++;
          if (during === 'back') acceptedAfterRestart++;
        } else await response.text();
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await restarted;

    // Checkouts never depended on Notifications: all accepted, also while it was down.
    expect([...statuses.keys()]).toEqual([202]);
    expect(acceptedWhileDown).toBeGreaterThan(0);
    expect(acceptedAfterRestart).toBeGreaterThan(0);

    // Quiet: every order ended, and every ended order has its notification (waited for, bounded).
    const counts = await waitForQuiet(database.url, 60_000);
    expect(counts.PENDING).toBeUndefined();
    expect((counts.CONFIRMED ?? 0) + (counts.CANCELLED ?? 0)).toBe(accepted.length);
    // Exactly once, and matching each order, for every order of the store...
    await assertStoreInvariants(database.url);
    // ...and as each customer sees it.
    for (const { orderId, customerId } of accepted) {
      const order = (await (await fetch(`${url}/orders/${orderId}`)).json()) as { status: string; failureReason: string | null };
      const response = await fetch(`${url}/notifications?customerId=${customerId}`);
      expect(response.status).toBe(200);
      const notifications = (await response.json()) as Array<{ orderId: string; kind: string; reason: string | null }>;
      expect(notifications.map(({ orderId: id, kind, reason }) => ({ orderId: id, kind, reason }))).toEqual([
        order.status === 'CONFIRMED' ? { orderId, kind: 'ORDER_CONFIRMED', reason: null } : { orderId, kind: 'ORDER_CANCELLED', reason: order.failureReason },
      ]);
    }
  }, 120_000);
});
