import { createHmac, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { type Shipping, ShippingContract, type ShipmentView } from '../../src/modules/shipping/index.js';
import type { EventEnvelope } from '../../src/platform/contracts/integration-event.js';
import type { ProcessPlan } from '../../tools/topology/topologies.js';
import { eventually } from '../support/eventually.js';
import { NATS_URL } from '../support/nats.js';
import { describeEachTopology } from '../support/needs-nats.js';
import { http, type TestStore } from '../support/test-store.js';
import { startTopology, type TestTopology, topologiesUnderTest } from '../support/test-topology.js';

const topologies = await topologiesUnderTest();

const SECRET = 'whsec_test_3c1d9a7e5b';
const address = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };

/** The carrier's signature of a body sent at `t` (unix seconds): `t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
function sign(body: string, t: number = Math.floor(Date.now() / 1000), secret: string = SECRET): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** The carrier's POST, as the carrier sends it: the exact bytes it signed. */
function post(store: { url: string }, body: string, signature?: string) {
  return http(store, 'POST', '/shipping/carrier-events', body, {
    'content-type': 'application/json',
    ...(signature === undefined ? {} : { 'carrier-signature': signature }),
  });
}

const eventBody = (shipmentId: string, event: 'DELIVERED' | 'RETURNED', at = '2025-12-08T10:15:00.000Z') => JSON.stringify({ shipmentId, event, at });

/** Only the process that hosts Shipping is given the secret: the gateway of a distributed topology never holds it (ADR 28). */
const hostsShipping = (plan: ProcessPlan) => plan.env.MODULES === undefined || plan.env.MODULES.split(',').includes('shipping');

function shippingProcess(topology: TestTopology): TestStore {
  return [...topology.processes.values()].find((store) => store.config.hostedModules.includes('shipping'))!;
}

/**
 * Shipping's carrier webhook (store-api.md, Shipping), over real HTTP through the gateway, in
 * every topology: a signed event moves the shipment and Shipping publishes it, once; anything
 * unsigned, wrongly signed or stale is 401 and changes nothing.
 */
describeEachTopology(topologies, 'the carrier webhook in the %s topology', (topologyName) => {
  let topology: TestTopology;
  let shipping: Shipping;
  let admin: pg.Client;
  /** What a listener of Shipping's events received (in one process); across processes, the stream is read. */
  const received: EventEnvelope[] = [];
  const streamed = topologyName !== 'monolith';

  beforeAll(async () => {
    topology = await startTopology(topologyName, {}, (plan): Record<string, string> => (hostsShipping(plan) ? { CARRIER_WEBHOOK_SECRET: SECRET } : {}));
    const host = shippingProcess(topology);
    shipping = host.application.app.get<Shipping>(ShippingContract.client, { strict: false });
    if (!streamed) {
      // Nothing of this build listens to Shipping's events yet (Orders' delivery workflow will), and an
      // event nobody listens to is not even written. A listener for the test: the outbox delivers to it.
      const { registry, bus } = host.application.messaging;
      const subscribersOf = registry.subscribersOf.bind(registry);
      jest
        .spyOn(registry, 'subscribersOf')
        .mockImplementation((name: string) => (name.startsWith('shipping.') ? [{ id: 'test.carrier-listener' } as never] : subscribersOf(name)));
      bus.route('test.carrier-listener', async (envelope) => {
        received.push(envelope);
      });
    }
    admin = new pg.Client({ connectionString: topology.database.url });
    await admin.connect();
  }, 120_000);
  afterAll(async () => {
    await admin?.end();
    await topology?.close();
  });

  const schedule = (): Promise<ShipmentView> => shipping.scheduleShipment({ orderId: randomUUID(), address });

  async function statusOf(shipmentId: string): Promise<string> {
    const response = await http(topology, 'GET', `/shipments/${shipmentId}`);
    expect(response.status).toBe(200);
    return response.body.status;
  }

  /** Shipping's outbox rows about the shipment. */
  async function outboxOf(shipmentId: string): Promise<Array<{ name: string; aggregate_id: string; payload: Record<string, unknown> }>> {
    const { rows } = await admin.query(`SELECT name, aggregate_id, payload FROM shipping.outbox WHERE payload->>'shipmentId' = $1 ORDER BY position`, [
      shipmentId,
    ]);
    return rows;
  }

  /** The events about the shipment that left Shipping: to the listener, or on the deployment's stream. */
  async function publishedAbout(shipmentId: string): Promise<Array<{ name: string; payload: Record<string, unknown> }>> {
    if (!streamed) return received.filter((envelope) => envelope.payload.shipmentId === shipmentId).map(({ name, payload }) => ({ name, payload }));
    const prefix = shippingProcess(topology).config.natsSubjectPrefix;
    const connection = await connect({ servers: NATS_URL });
    try {
      const jsm = await jetstreamManager(connection);
      const { state } = await jsm.streams.info(`${prefix}-events`);
      const found: Array<{ name: string; payload: Record<string, unknown> }> = [];
      for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
        const message = await jsm.streams.getMessage(`${prefix}-events`, { seq }).catch(() => null);
        const envelope = message?.json<EventEnvelope>();
        if (envelope?.payload.shipmentId === shipmentId) found.push({ name: envelope.name, payload: envelope.payload });
      }
      return found;
    } finally {
      await connection.close();
    }
  }

  it('moves a SCHEDULED shipment to DELIVERED on a signed DELIVERED, and publishes ShipmentDelivered once', async () => {
    const shipment = await schedule();
    const body = eventBody(shipment.shipmentId, 'DELIVERED');
    const answer = await post(topology, body, sign(body));
    expect(answer.status).toBe(204);
    expect(answer.body ?? '').toBe('');
    expect(await statusOf(shipment.shipmentId)).toBe('DELIVERED');
    const expected = { orderId: shipment.orderId, shipmentId: shipment.shipmentId, at: '2025-12-08T10:15:00.000Z' };
    expect(await outboxOf(shipment.shipmentId)).toEqual([{ name: 'shipping.ShipmentDelivered', aggregate_id: shipment.orderId, payload: expected }]);
    await eventually(async () => expect(await publishedAbout(shipment.shipmentId)).toEqual([{ name: 'shipping.ShipmentDelivered', payload: expected }]));

    // The same event again (the carrier retries): the same request, and one signed anew a second later.
    expect((await post(topology, body, sign(body))).status).toBe(204);
    expect((await post(topology, body, sign(body, Math.floor(Date.now() / 1000) + 1))).status).toBe(204);
    expect(await statusOf(shipment.shipmentId)).toBe('DELIVERED');
    expect(await outboxOf(shipment.shipmentId)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await publishedAbout(shipment.shipmentId)).toHaveLength(1);
  });

  it('moves a SCHEDULED shipment to RETURNED, publishes ShipmentReturned, and a later DELIVERED changes nothing', async () => {
    const shipment = await schedule();
    const returned = eventBody(shipment.shipmentId, 'RETURNED', '2025-12-09T08:00:00+01:00');
    expect((await post(topology, returned, sign(returned))).status).toBe(204);
    expect(await statusOf(shipment.shipmentId)).toBe('RETURNED');
    const expected = { orderId: shipment.orderId, shipmentId: shipment.shipmentId, at: '2025-12-09T07:00:00.000Z' };
    await eventually(async () => expect(await publishedAbout(shipment.shipmentId)).toEqual([{ name: 'shipping.ShipmentReturned', payload: expected }]));
    const delivered = eventBody(shipment.shipmentId, 'DELIVERED');
    expect((await post(topology, delivered, sign(delivered))).status).toBe(204);
    expect(await statusOf(shipment.shipmentId)).toBe('RETURNED');
    expect(await outboxOf(shipment.shipmentId)).toHaveLength(1);
  });

  it('takes one of 10 concurrent deliveries of the same event: one transition, one event', async () => {
    const shipment = await schedule();
    const body = eventBody(shipment.shipmentId, 'DELIVERED');
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(topology, body, sign(body))));
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(204));
    expect(await outboxOf(shipment.shipmentId)).toHaveLength(1);
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['no Carrier-Signature header', (_body: string) => undefined],
    ['a signature made with another secret', (body: string) => sign(body, now(), 'whsec_not_the_one')],
    ['a signature of another body', (body: string) => sign(body.replace('DELIVERED', 'RETURNED'))],
    ['a timestamp 6 minutes old', (body: string) => sign(body, now() - 360)],
    ['a timestamp 6 minutes ahead', (body: string) => sign(body, now() + 360)],
    ['a header without v1', (body: string) => sign(body).split(',')[0]],
    ['a header without t', (body: string) => sign(body).split(',')[1]],
    ['a v1 that is not hex', (body: string) => `${sign(body).split(',')[0]},v1=${'z'.repeat(64)}`],
    ['a truncated v1', (body: string) => sign(body).slice(0, -2)],
    ['garbage', () => 'garbage'],
  ])('answers 401 problem+json for %s, and changes nothing', async (_case, signature) => {
    const shipment = await schedule();
    const body = eventBody(shipment.shipmentId, 'DELIVERED');
    const answer = await post(topology, body, signature(body));
    expect(answer.status).toBe(401);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ type: 'about:blank', title: 'Unauthorized', status: 401 });
    expect(await statusOf(shipment.shipmentId)).toBe('SCHEDULED');
    expect(await outboxOf(shipment.shipmentId)).toEqual([]);
  });

  it('answers 401 before it reads a body that is signed wrongly, whatever it holds', async () => {
    const body = JSON.stringify({ shipmentId: 'not-a-uuid', event: 'LOST' });
    expect((await post(topology, body, sign(body, now(), 'whsec_not_the_one'))).status).toBe(401);
  });

  it('answers 404 problem+json for a signed event of an unknown shipment', async () => {
    const body = eventBody(randomUUID(), 'DELIVERED');
    const answer = await post(topology, body, sign(body));
    expect(answer.status).toBe(404);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('answers 204 and changes nothing for DELIVERED of a CANCELLED shipment', async () => {
    const shipment = await schedule();
    await shipping.cancelShipment({ orderId: shipment.orderId });
    const body = eventBody(shipment.shipmentId, 'DELIVERED');
    expect((await post(topology, body, sign(body))).status).toBe(204);
    expect(await statusOf(shipment.shipmentId)).toBe('CANCELLED');
    expect(await outboxOf(shipment.shipmentId)).toEqual([]);
  });

  it.each([
    ['an unknown event', (id: string) => JSON.stringify({ shipmentId: id, event: 'LOST', at: '2025-12-08T10:15:00Z' }), 'event'],
    ['no at', (id: string) => JSON.stringify({ shipmentId: id, event: 'DELIVERED' }), 'at'],
    ['an at that is no date-time', (id: string) => JSON.stringify({ shipmentId: id, event: 'DELIVERED', at: 'yesterday' }), 'at'],
    ['an at without its time', (id: string) => JSON.stringify({ shipmentId: id, event: 'DELIVERED', at: '2025-12-08' }), 'at'],
    ['a shipment id that is no uuid', () => JSON.stringify({ shipmentId: 'parcel-1', event: 'DELIVERED', at: '2025-12-08T10:15:00Z' }), 'shipmentId'],
    ['an unknown property', (id: string) => JSON.stringify({ shipmentId: id, event: 'DELIVERED', at: '2025-12-08T10:15:00Z', extra: 1 }), 'extra'],
    ['an array', () => JSON.stringify([]), undefined],
    ['no body at all', () => '', undefined],
  ])('answers 400 problem+json for a validly signed body with %s, and changes nothing', async (_case, make, field) => {
    const shipment = await schedule();
    const body = make(shipment.shipmentId);
    const answer = await post(topology, body, sign(body));
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    if (field) expect(answer.body.errors.map((error: { field: string }) => error.field)).toContain(field);
    expect(await statusOf(shipment.shipmentId)).toBe('SCHEDULED');
    expect(await outboxOf(shipment.shipmentId)).toEqual([]);
  });

  it('keeps the secret with Shipping: a gateway that hosts no Shipping is not given it', () => {
    for (const store of topology.processes.values()) {
      expect({ hosts: store.config.hostedModules.includes('shipping'), secret: store.config.env.CARRIER_WEBHOOK_SECRET }).toEqual(
        store.config.hostedModules.includes('shipping') ? { hosts: true, secret: SECRET } : { hosts: false, secret: undefined },
      );
    }
  });
});

describeEachTopology(topologies, 'the carrier webhook without CARRIER_WEBHOOK_SECRET in the %s topology', (topologyName) => {
  let topology: TestTopology;

  beforeAll(async () => {
    topology = await startTopology(topologyName);
  }, 120_000);
  afterAll(async () => {
    await topology?.close();
  });

  it('answers 503 problem+json saying the webhook is not configured, and changes nothing', async () => {
    const shipping = shippingProcess(topology).application.app.get<Shipping>(ShippingContract.client, { strict: false });
    const shipment = await shipping.scheduleShipment({ orderId: randomUUID(), address });
    const body = eventBody(shipment.shipmentId, 'DELIVERED');
    const answer = await post(topology, body, sign(body));
    expect(answer.status).toBe(503);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.body.detail).toMatch(/carrier webhook is not configured.*CARRIER_WEBHOOK_SECRET/);
    expect((await http(topology, 'GET', `/shipments/${shipment.shipmentId}`)).body.status).toBe('SCHEDULED');
  });
});
