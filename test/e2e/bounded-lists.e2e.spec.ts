import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { http } from '../support/test-store.js';
import { startTopology, type TestTopology, topologiesUnderTest } from '../support/test-topology.js';

// The same suite against every placement of the modules (TOPOLOGY selects one).
const topologies = await topologiesUnderTest();

interface Notification {
  notificationId: string;
  customerId: string;
  orderId: string;
}

/** The URL of `rel="next"` in a Link header (RFC 8288), resolved against the request's URL; undefined without one. */
function nextLink(link: string | null, base: string): string | undefined {
  if (link === null) return undefined;
  const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(link);
  if (!match) throw new Error(`a Link header without rel="next": ${link}`);
  return new URL(match[1], base).toString();
}

/**
 * Every list of store-api.md is bounded (`limit`, 1..1000, default 100) and
 * continued by a `Link: <…>; rel="next"` header with an opaque `after` cursor:
 * following the links yields each item exactly once, also when items are added
 * between pages; a bad limit or cursor is a 400 that changes nothing. The rows
 * are written straight into Notifications' table (as its subscriber writes
 * them), so that a list longer than a page costs no thousand checkouts.
 */
describe.each(topologies)('bounded lists in the %s topology', (topology) => {
  let store: TestTopology;
  let admin: pg.Client;

  beforeAll(async () => {
    store = await startTopology(topology, { REMOTE_CALL_TIMEOUT_MS: '2000' });
    admin = new pg.Client({ connectionString: store.database.url });
    await admin.connect();
  }, 60_000);
  afterAll(async () => {
    await admin?.end();
    await store?.close();
  });

  async function addNotifications(customerId: string, count: number): Promise<void> {
    await admin.query(
      `INSERT INTO notifications.notifications (customer_id, order_id, kind, reason)
       SELECT $1, gen_random_uuid(), 'ORDER_CANCELLED', 'PAYMENT_DECLINED' FROM generate_series(1, $2)`,
      [customerId, count],
    );
  }

  /** Follows rel="next" from `path` to the end: every page's items, in order, and the number of pages. */
  async function walk(path: string, between?: (page: number) => Promise<void>) {
    const items: Notification[] = [];
    let url: string | undefined = `${store.url}${path}`;
    let pages = 0;
    while (url !== undefined) {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      const page = (await response.json()) as Notification[];
      items.push(...page);
      pages++;
      url = nextLink(response.headers.get('link'), url);
      if (url !== undefined) expect(page.length).toBeGreaterThan(0);
      if (url !== undefined && between) await between(pages);
    }
    return { items, pages };
  }

  it('answers at most the default 100 items, with a Link to the rest', async () => {
    const customerId = `c-${randomUUID()}`;
    await addNotifications(customerId, 250);
    const first = await http(store, 'GET', `/notifications?customerId=${customerId}`);
    expect(first.status).toBe(200);
    expect(first.body).toHaveLength(100);
    const next = nextLink(first.headers.get('link'), `${store.url}/notifications`);
    expect(next).toBeDefined();
    expect(new URL(next!).searchParams.get('customerId')).toBe(customerId);
    expect(new URL(next!).searchParams.get('after')).toMatch(/^[A-Za-z0-9_-]+$/);

    const { items, pages } = await walk(`/notifications?customerId=${customerId}`);
    expect(pages).toBe(3);
    expect(items).toHaveLength(250);
    expect(new Set(items.map((n) => n.notificationId)).size).toBe(250);
    expect(items.every((n) => n.customerId === customerId)).toBe(true);
  });

  it('honours limit, and yields each item exactly once, in order, also with items added between pages', async () => {
    const customerId = `c-${randomUUID()}`;
    await addNotifications(customerId, 23);
    const all = async () => (await http(store, 'GET', `/notifications?customerId=${customerId}&limit=1000`)).body as Notification[];
    const { items, pages } = await walk(`/notifications?customerId=${customerId}&limit=5`, async (page) => {
      // Another customer's rows and this customer's new ones, between every two pages.
      await addNotifications(`other-${randomUUID()}`, 3);
      if (page <= 3) await addNotifications(customerId, 2);
    });
    const everything = await all();
    expect(everything).toHaveLength(29);
    expect(items.map((n) => n.notificationId)).toEqual(everything.map((n) => n.notificationId));
    expect(pages).toBe(6);
  });

  it('gives no Link when everything fits, and [] for an unknown customer', async () => {
    const customerId = `c-${randomUUID()}`;
    await addNotifications(customerId, 3);
    const fits = await http(store, 'GET', `/notifications?customerId=${customerId}&limit=3`);
    expect(fits.body).toHaveLength(3);
    expect(fits.headers.get('link')).toBeNull();
    const none = await http(store, 'GET', `/notifications?customerId=nobody-${randomUUID()}`);
    expect(none.status).toBe(200);
    expect(none.body).toEqual([]);
    expect(none.headers.get('link')).toBeNull();
  });

  it.each(['0', '1001', '-1', '1.5', 'ten', '', '10e1', '1&limit=2'])('refuses limit=%s with a 400 problem', async (limit) => {
    const response = await http(store, 'GET', `/notifications?customerId=c-1&limit=${limit}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(response.body)).toContain('limit');
  });

  it('refuses a garbled, forged or foreign cursor with a 400 problem', async () => {
    const customerId = `c-${randomUUID()}`;
    await addNotifications(customerId, 4);
    const first = await http(store, 'GET', `/notifications?customerId=${customerId}&limit=2`);
    const after = new URL(nextLink(first.headers.get('link'), store.url)!).searchParams.get('after')!;
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const decoded = JSON.parse(Buffer.from(after, 'base64url').toString()) as Record<string, unknown>;
    const bad = [
      'not a cursor!',
      'AAAA',
      after.slice(0, -3),
      `${after}x`,
      forged({ ...decoded, k: ['1 OR 1=1'] }),
      forged({ ...decoded, k: [] }),
      forged({ ...decoded, k: ['99999999999999999999999'] }),
      forged('just a string'),
      'x'.repeat(2000),
    ];
    for (const cursor of bad) {
      const response = await http(store, 'GET', `/notifications?customerId=${customerId}&limit=2&after=${encodeURIComponent(cursor)}`);
      expect([cursor, response.status]).toEqual([cursor, 400]);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(response.body)).toContain('after');
    }
    // A cursor of one customer's list is not a place in another's.
    const foreign = await http(store, 'GET', `/notifications?customerId=someone-else&limit=2&after=${after}`);
    expect(foreign.status).toBe(400);
    // ...and the good one still works: nothing changed.
    const second = await http(store, 'GET', `/notifications?customerId=${customerId}&limit=2&after=${after}`);
    expect(second.status).toBe(200);
    expect(second.body).toHaveLength(2);
  });

  it.each(['/payments', '/shipments'])('bounds %s the same way', async (path) => {
    const orderId = randomUUID();
    const fits = await http(store, 'GET', `${path}?orderId=${orderId}&limit=1`);
    expect(fits.status).toBe(200);
    expect(fits.body).toEqual([]);
    expect(fits.headers.get('link')).toBeNull();
    expect((await http(store, 'GET', `${path}?orderId=${orderId}&limit=0`)).status).toBe(400);
    expect((await http(store, 'GET', `${path}?orderId=${orderId}&limit=1001`)).status).toBe(400);
    expect((await http(store, 'GET', `${path}?orderId=${orderId}&after=garbage!`)).status).toBe(400);
  });
});
