import { randomBytes } from 'node:crypto';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { TopologyProcesses } from '../../tools/topology/topology-processes.js';
import { eventually } from '../support/eventually.js';
import { freePortRange } from '../../tools/support/network.js';
import { NATS_URL } from '../support/nats.js';
import { describeEachTopology } from '../support/needs-nats.js';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const topologies = ['monolith', 'microservices'];

const MODULES = ['inventory', 'notifications', 'orders', 'payments', 'shipping'];
const STATEMENTS = [
  'orders.place-order',
  'payments.intend-payment',
  'payments.record-payment',
  'inventory.reserve-stock',
  'shipping.schedule-shipment',
  'orders.advance-checkout-saga',
];

/**
 * The built store exporting OTLP/HTTP to a receiver on loopback: one checkout
 * is one trace, whatever the placement of its modules, and every log line of
 * the request carries its trace id, in every process.
 */
describeEachTopology(topologies, 'one trace per checkout, logs joined by trace id (%s)', (topology) => {
  let database: TestDatabase;
  let receiver: OtlpReceiver;
  let store: TopologyProcesses | undefined;
  const lines = new Map<string, string[]>();

  // A prefix of its own, whose event stream is deleted afterwards: nothing left on the shared NATS.
  const prefix = `t${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    receiver = new OtlpReceiver();
    const endpoint = await receiver.start();
    store = await TopologyProcesses.start({
      topology,
      modules: MODULES,
      port: await freePortRange(5),
      ownDatabases: false,
      databaseUrl: database.url,
      env: {
        // Debug: a subscriber's only line for a checkout is its handled event, logged at debug.
        LOG_LEVEL: 'debug',
        NATS_URL,
        NATS_SUBJECT_PREFIX: prefix,
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      },
      onLine: (name, line) => lines.set(name, [...(lines.get(name) ?? []), line]),
    });
  }, 90_000);

  afterAll(async () => {
    await store?.stop();
    await deleteEventStream(NATS_URL, prefix).catch(() => {});
    await receiver?.stop();
    await database?.drop();
  });

  it('covers all five modules, the saga steps, the NATS hops and pg, with correct parent links', async () => {
    const url = store!.gatewayUrl;
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/inventory/products', { sku: 'TR-1', name: 'traced', priceCents: 100, stock: 5 })).status).toBe(201);
    const placed = await post('/orders', {
      customerId: 'c',
      items: [{ sku: 'TR-1', quantity: 1 }],
      paymentToken: 'tok_visa',
      shippingAddress: { name: 'A', line1: 'l', city: 'c', postalCode: '1', country: 'NO' },
    });
    expect(placed.status).toBe(202);
    const traceId = placed.headers.get('traceparent')!.split('-')[1];
    const { orderId } = (await placed.json()) as { orderId: string };
    await eventually(async () => expect(((await (await fetch(`${url}/orders/${orderId}`)).json()) as { status: string }).status).toBe('CONFIRMED'));

    const spans = await eventually(
      async () => {
        const found = receiver.trace(traceId);
        const names = found.map((span) => span.name);
        // Notifications' handling of OrderConfirmed continues the checkout's trace, a little after it
        // (Orders' own delivery workflow handles it too: that span alone is not Notifications').
        expect(names).toEqual(expect.arrayContaining(['orders.checkout.SCHEDULE_SHIPMENT', 'shipping.scheduleShipment', 'orders.OrderConfirmed handle']));
        expect(found.filter((span) => span.name === 'orders.OrderConfirmed handle').map((span) => span.attributes.module)).toContain('notifications');
        // Each process exports on its own schedule: wait for every statement span too, and for
        // every parent (a child may arrive before its parent does).
        for (const statement of STATEMENTS) expect(names.some((name) => name.startsWith(`pg.query:${statement}:`))).toBe(true);
        const ids = new Set(found.map((span) => span.spanId));
        expect(found.filter((span) => span.parentSpanId && !ids.has(span.parentSpanId))).toEqual([]);
        return found;
      },
      15_000,
      100,
    );
    const names = spans.map((span) => span.name);

    // Every module has spans in this one trace, named <module>.<operation> with a module attribute.
    const modules = new Set(spans.map((span) => span.attributes.module).filter(Boolean));
    expect([...modules].sort()).toEqual(MODULES);
    expect(names).toEqual(
      expect.arrayContaining([
        'POST /orders',
        'orders.placeOrder',
        'inventory.getPrices',
        'orders.checkout.CHARGE_PAYMENT',
        'orders.checkout.RESERVE_STOCK',
        'orders.checkout.SCHEDULE_SHIPMENT',
        'payments.chargePayment',
        'inventory.reserveStock',
        'shipping.scheduleShipment',
      ]),
    );
    // The checkout's statements are named in the trace. In one process no module subscribes to
    // OrderPlaced, so it is not published at all; across processes every event goes to the stream,
    // whoever may subscribe (ADR 12), and its publication continues the trace.
    expect(spans.some((span) => span.attributes['db.system'] === 'postgresql' || span.name.startsWith('pg.'))).toBe(true);
    if (topology === 'monolith') expect(names).not.toContain('orders.OrderPlaced publish');
    else expect(names).toEqual(expect.arrayContaining(['orders.OrderPlaced publish', 'orders.OrderPlaced deliver']));
    // Background polls (the saga runner's claims, the admission's queue sample) start no traces of their own.
    expect(receiver.spans.filter((span) => !span.parentSpanId && span.name.startsWith('pg.'))).toEqual([]);
    if (topology === 'microservices') {
      expect(names.filter((name) => name.startsWith('nats request '))).not.toHaveLength(0);
      expect(names.filter((name) => name.startsWith('nats handle '))).not.toHaveLength(0);
      // The hops cross processes: spans of the trace come from every service (five modules and the gateway).
      expect(new Set(spans.map((span) => span.service)).size).toBe(6);
    }

    // One root (the HTTP request); every other span's parent is in the trace.
    const ids = new Set(spans.map((span) => span.spanId));
    const roots = spans.filter((span) => !span.parentSpanId);
    expect(roots.map((span) => span.name)).toEqual(['POST /orders']);
    expect(spans.filter((span) => span.parentSpanId && !ids.has(span.parentSpanId))).toEqual([]);
    const byId = new Map(spans.map((span) => [span.spanId, span] as const));
    const parentOf = (span: ReceivedSpan) => byId.get(span.parentSpanId!)!;
    // A saga step is a child of the request that placed the order; a module call is a child of its step.
    const step = spans.find((span) => span.name === 'orders.checkout.RESERVE_STOCK')!;
    expect(ancestors(step, parentOf).map((span) => span.name)).toContain('POST /orders');
    const reserve = spans.filter((span) => span.name === 'inventory.reserveStock');
    expect(reserve.some((span) => ancestors(span, parentOf).includes(step))).toBe(true);

    // Every process that took part logged lines carrying the trace id.
    await eventually(async () => {
      const taking = [...lines.keys()].filter((name) => (lines.get(name) ?? []).some((line) => line.includes(traceId)));
      expect(taking.sort()).toEqual([...lines.keys()].sort());
    });
    const requestLine = [...lines.values()].flat().find((line) => line.includes(traceId) && line.includes('"statusCode":202'));
    expect(requestLine && JSON.parse(requestLine)).toMatchObject({ trace_id: traceId, req: { method: 'POST', url: '/orders' } });
  }, 60_000);
});

function ancestors(span: ReceivedSpan, parentOf: (span: ReceivedSpan) => ReceivedSpan | undefined): ReceivedSpan[] {
  const chain: ReceivedSpan[] = [];
  for (let current = span.parentSpanId ? parentOf(span) : undefined; current; current = current.parentSpanId ? parentOf(current) : undefined) {
    chain.push(current);
  }
  return chain;
}
