import { createHmac } from 'node:crypto';
import pg from 'pg';
import { storeInvariantViolations, waitForQuiet } from '../support/store-invariants.js';
import { openLoop, type OpenLoopSample, sleep } from './open-loop.js';
import { percentile, prng } from './stats.js';

/**
 * One fault under a fixed offered load: the open-loop generator POSTs
 * /orders at `rate` (mostly confirmable orders, some declined, some to AQ:
 * compensations under the fault too, from the seed); after `preMs` the fault
 * is injected (a process SIGKILLed, a module's link to NATS slowed or
 * partitioned, the NATS server killed), lasts `faultMs`, is healed (the
 * process restarted, the link restored, the server started again) and the run
 * waits until the store is healthy again; the load goes on until a request
 * sent after the fault began is accepted (at most `recoveryCapMs`), then
 * `postMs` more. Then the run waits until no order is PENDING; with a carrier
 * secret, every CONFIRMED order of the fault load then gets the carrier's
 * signed webhook (DELIVERED for two in three, else RETURNED, from the seed),
 * and the run waits until each of their deliveries has ended (DELIVERED and
 * reviewed, or RETURNED and compensated). Then it proves from the database
 * that no accepted order was lost, none was charged twice, and the store's
 * invariants hold, the delivered and returned orders' among them.
 */
export type FaultKind = 'kill' | 'kill-replica' | 'slow' | 'partition' | 'nats-restart';

export interface Fault {
  readonly kind: FaultKind;
  /** e.g. "inventory SIGKILLed", "inventory <-> NATS +200 ms". */
  readonly description: string;
  /** The process (or link) faulted. */
  readonly target: string;
  readonly inject: () => Promise<void>;
  /** Ends the fault; resolves when what was faulted is back (e.g. the process answers /health). */
  readonly heal: () => Promise<void>;
}

export interface FaultOptions {
  readonly fault: Fault;
  readonly baseUrl: string;
  readonly adminUrl: string;
  readonly rate: number;
  readonly faultMs: number;
  readonly preMs: number;
  readonly postMs: number;
  readonly recoveryCapMs: number;
  readonly sku: string;
  readonly customer: string;
  readonly seed: number;
  readonly quietTimeoutMs: number;
  /** The secret the processes hosting Shipping verify the carrier's webhook with; none: no deliveries. */
  readonly carrierSecret?: string;
  readonly onTick: (text: string) => void;
}

/** The carrier's webhooks sent after the fault, and whether the deliveries they settle all ended. */
export interface FaultDeliveries {
  /** CONFIRMED orders of the fault load given a webhook, by event. */
  readonly sent: Readonly<Record<string, number>>;
  /** Answers to the webhooks by status ("204", "network error", ...), after retries of 503 and network errors. */
  readonly answers: Readonly<Record<string, number>>;
  /** Every such order left CONFIRMED and its delivery workflow ended within the quiet timeout. */
  readonly ended: boolean;
  readonly ok: boolean;
}

export interface FaultResult {
  readonly kind: FaultKind;
  readonly description: string;
  readonly target: string;
  readonly faultMs: number;
  readonly rate: number;
  readonly requests: number;
  readonly accepted: number;
  /** Answers by status ("202", "503", ...) and "network error" (refused/reset connections, timeouts). */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly failed: number;
  readonly unavailable503: number;
  /** ms from the fault: heal issued, store healthy again, first 2xx of a request sent after the fault began, first such order CONFIRMED. */
  readonly timeline: {
    readonly restartIssuedMs: number;
    readonly healthyMs: number;
    readonly firstAcceptedMs: number | null;
    readonly firstConfirmedMs: number | null;
  };
  /** How long requests sent between the fault and the heal waited for their answer, ms. */
  readonly outageAnswerMs: { readonly p50: number; readonly max: number };
  /** Orders sent during the fault: POST -> terminal in the database (created_at -> updated_at), ms. */
  readonly sagaDuringFaultMs: { readonly p50: number; readonly max: number };
  /** From the heal to the first order accepted after the fault began being CONFIRMED, ms (0: confirmed before the heal: no outage). */
  readonly timeToRecoverMs: number | null;
  readonly quietAfterMs: number;
  readonly quiet: boolean;
  readonly orders: Readonly<Record<string, number>>;
  readonly lost: number;
  readonly notTerminal: number;
  readonly unacknowledged: number;
  readonly chargedTwice: number;
  readonly invariantViolations: readonly string[];
  /** null: no carrier secret (no deliveries in this run). */
  readonly deliveries: FaultDeliveries | null;
  readonly ok: boolean;
  readonly buckets: {
    readonly ms: readonly number[];
    readonly accepted: readonly number[];
    readonly unavailable: readonly number[];
    readonly otherStatus: readonly number[];
    readonly networkErrors: readonly number[];
  };
  readonly marks: { readonly killMs: number; readonly restartMs: number; readonly healthyMs: number };
}

const BUCKET_MS = 250;

export async function runFault(options: FaultOptions): Promise<FaultResult> {
  const random = prng(options.seed);
  const address = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };
  const bodies: string[] = [];
  const body = (i: number) => {
    while (bodies.length <= i) {
      const r = random();
      bodies.push(
        JSON.stringify({
          customerId: options.customer,
          items: [{ sku: options.sku, quantity: 1 }],
          paymentToken: r < 0.08 ? 'tok_declined' : 'tok_visa',
          shippingAddress: r > 0.94 ? { ...address, country: 'AQ' } : address,
        }),
      );
    }
    return bodies[i];
  };
  let stop = false;
  let faultAt = 0;
  let acceptedAgainAt: number | undefined;
  const load = openLoop({
    baseUrl: options.baseUrl,
    rate: options.rate,
    durationS: 600,
    body,
    follow: false,
    pollMs: 0,
    terminalTimeoutMs: 0,
    shouldStop: () => stop,
    onAnswer: (s) => {
      if (s.status >= 200 && s.status < 300 && faultAt > 0 && s.dueAt >= faultAt && acceptedAgainAt === undefined) acceptedAgainAt = s.answeredAt;
    },
    onTick: (text) => options.onTick(`${options.fault.description}: ${text}`),
  });
  const start = performance.now();
  let healAt = 0;
  let healthyAt: number;
  let faultAtDb: Date;
  try {
    await sleep(options.preMs);
    faultAt = performance.now();
    faultAtDb = new Date();
    await options.fault.inject();
    await sleep(Math.max(0, options.faultMs - (performance.now() - faultAt)));
    healAt = performance.now();
    await options.fault.heal();
    await waitForHealth(`${options.baseUrl}/health`, options.recoveryCapMs);
    healthyAt = performance.now();
    while (acceptedAgainAt === undefined && performance.now() - healthyAt < options.recoveryCapMs) await sleep(50);
    await sleep(options.postMs);
  } finally {
    stop = true;
  }
  const { samples } = await load;

  const quietStart = performance.now();
  const quiet = await waitForQuiet(options.adminUrl, options.quietTimeoutMs, (n) =>
    options.onTick(`${options.fault.description}: waiting for ${n} pending orders to settle`),
  );
  // The checkout's settling only: the deliveries after it are the run's, not the fault's.
  const quietAfterMs = performance.now() - quietStart;

  const accepted = samples.filter((s) => s.status >= 200 && s.status < 300 && s.orderId);
  const acceptedIds = accepted.map((s) => s.orderId!);
  const afterFault = accepted.filter((s) => s.dueAt >= faultAt);
  const duringFault = accepted.filter((s) => s.dueAt >= faultAt && s.dueAt < healAt);
  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  try {
    // The checkout's timeline, read before the deliveries move the orders on (and their updated_at with them).
    const {
      rows: [first],
    } = await admin.query<{ t: Date | null }>(`SELECT min(updated_at) AS t FROM orders.orders WHERE id = ANY($1::uuid[]) AND status = 'CONFIRMED'`, [
      afterFault.map((s) => s.orderId!),
    ]);
    const { rows: saga } = await admin.query<{ ms: number }>(
      `SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM orders.orders WHERE id = ANY($1::uuid[]) AND status IN ('CONFIRMED', 'CANCELLED')`,
      [duringFault.map((s) => s.orderId!)],
    );
    const deliveries = quiet.quiet && options.carrierSecret ? await deliver(options, options.carrierSecret) : null;
    const { rows: found } = await admin.query<{ id: string; status: string }>('SELECT id, status FROM orders.orders WHERE id = ANY($1::uuid[])', [acceptedIds]);
    const foundIds = new Set(found.map((r) => r.id));
    const { rows: all } = await admin.query<{ id: string; status: string; reason: string | null }>(
      'SELECT id, status, failure_reason AS reason FROM orders.orders WHERE customer_id = $1',
      [options.customer],
    );
    const acknowledged = new Set(acceptedIds);
    const { rows: twice } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT o.id FROM orders.orders o JOIN payments.payments p ON p.order_id = o.id
          WHERE o.customer_id = $1
          GROUP BY o.id, o.status
         HAVING count(*) > 1 OR (o.status = 'CANCELLED' AND count(*) FILTER (WHERE p.status = 'CAPTURED') > 0)) x`,
      [options.customer],
    );
    const firstConfirmedMs = first.t ? first.t.getTime() - faultAtDb.getTime() : null;
    const outcomes: Record<string, number> = {};
    for (const s of samples) {
      const key = s.status === 0 ? 'network error' : String(s.status);
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    const orders: Record<string, number> = {};
    for (const o of all) {
      const key = o.status === 'CANCELLED' ? `CANCELLED/${o.reason}` : o.status;
      orders[key] = (orders[key] ?? 0) + 1;
    }
    const lost = acceptedIds.filter((id) => !foundIds.has(id)).length;
    const notTerminal = found.filter((r) => r.status === 'PENDING' || r.status === 'CANCELLING').length;
    const violations = await storeInvariantViolations(options.adminUrl);
    const outage = samples.filter((s) => s.dueAt >= faultAt && s.dueAt < healAt).map((s) => s.answeredAt - s.dueAt);
    const sagaMs = saga.map((r) => Number(r.ms));
    const firstAccepted = afterFault.length ? Math.min(...afterFault.map((s) => s.answeredAt)) - faultAt : null;
    const healMs = healAt - faultAt;
    return {
      kind: options.fault.kind,
      description: options.fault.description,
      target: options.fault.target,
      faultMs: options.faultMs,
      rate: options.rate,
      requests: samples.length,
      accepted: accepted.length,
      outcomes,
      failed: samples.length - accepted.length,
      unavailable503: outcomes['503'] ?? 0,
      timeline: {
        restartIssuedMs: Math.round(healMs),
        healthyMs: Math.round(healthyAt - faultAt),
        firstAcceptedMs: firstAccepted === null ? null : Math.round(firstAccepted),
        firstConfirmedMs,
      },
      outageAnswerMs: { p50: Math.round(percentile(outage, 50)), max: Math.round(outage.length ? Math.max(...outage) : Number.NaN) },
      sagaDuringFaultMs: { p50: Math.round(percentile(sagaMs, 50)), max: Math.round(sagaMs.length ? Math.max(...sagaMs) : Number.NaN) },
      timeToRecoverMs: firstConfirmedMs === null ? null : Math.max(0, Math.round(firstConfirmedMs - healMs)),
      quietAfterMs: Math.round(quietAfterMs),
      quiet: quiet.quiet,
      orders,
      lost,
      notTerminal,
      unacknowledged: all.filter((o) => !acknowledged.has(o.id)).length,
      chargedTwice: twice[0].n,
      invariantViolations: violations,
      deliveries,
      ok: quiet.quiet && lost === 0 && notTerminal === 0 && twice[0].n === 0 && violations.length === 0 && (deliveries?.ok ?? true),
      buckets: buckets(samples, start),
      marks: { killMs: Math.round(faultAt - start), restartMs: Math.round(healAt - start), healthyMs: Math.round(healthyAt - start) },
    };
  } finally {
    await admin.end();
  }
}

/**
 * The carrier speaks for every CONFIRMED order of the fault load (signed as store-api.md's Shipping
 * verifies it, a few at a time, a 503 or a lost connection retried), then the run waits until none of
 * them is CONFIRMED any more and none of their deliveries runs or waits (the review's delay is short in
 * the compare, REVIEW_DELAY_MS), and until every notification their status calls for is there.
 */
async function deliver(options: FaultOptions, secret: string): Promise<FaultDeliveries> {
  const random = prng(options.seed + 1);
  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  const sent: Record<string, number> = {};
  const answers: Record<string, number> = {};
  try {
    const { rows } = await admin.query<{ shipment: string }>(
      `SELECT s.id AS shipment FROM orders.orders o JOIN shipping.shipments s ON s.order_id = o.id
        WHERE o.customer_id = $1 AND o.status = 'CONFIRMED' ORDER BY o.created_at`,
      [options.customer],
    );
    const queue = rows.map((r) => ({ shipment: r.shipment, event: random() < 2 / 3 ? 'DELIVERED' : 'RETURNED' }));
    let done = 0;
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        sent[item.event] = (sent[item.event] ?? 0) + 1;
        const status = await carrierWebhook(options.baseUrl, secret, item.shipment, item.event);
        answers[status] = (answers[status] ?? 0) + 1;
        options.onTick(`${options.fault.description}: carrier webhooks ${++done}/${rows.length}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const deadline = performance.now() + options.quietTimeoutMs;
    let ended = false;
    for (;;) {
      const {
        rows: [left],
      } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM orders.orders o
          WHERE o.customer_id = $1
            AND (o.status = 'CONFIRMED'
                 OR EXISTS (SELECT 1 FROM orders.sagas d WHERE d.saga = 'delivery' AND d.key = o.id::text AND d.status IN ('RUNNING', 'WAITING')))`,
        [options.customer],
      );
      if (left.n === 0) {
        ended = true;
        break;
      }
      if (performance.now() > deadline) break;
      options.onTick(`${options.fault.description}: waiting for ${left.n} deliveries to end`);
      await sleep(100);
    }
    // The notifications (REVIEW_REQUESTED, ORDER_CANCELLED of a return) follow by an event.
    const quiet = ended && (await waitForQuiet(options.adminUrl, options.quietTimeoutMs)).quiet;
    return { sent, answers, ended: ended && quiet, ok: ended && quiet && Object.keys(answers).every((k) => k === '204') };
  } finally {
    await admin.end();
  }
}

/** One signed carrier webhook; its final status ("204", ...), a 503 or a network error retried a few times. */
async function carrierWebhook(baseUrl: string, secret: string, shipmentId: string, event: string): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    const text = JSON.stringify({ shipmentId, event, at: new Date().toISOString() });
    const t = Math.floor(Date.now() / 1000);
    const signature = `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${text}`).digest('hex')}`;
    try {
      const response = await fetch(`${baseUrl}/shipping/carrier-events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'carrier-signature': signature },
        body: text,
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      last = String(response.status);
      if (response.status !== 503) return last;
    } catch {
      last = 'network error';
    }
    await sleep(500);
  }
  return last;
}

async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
}

function buckets(samples: readonly OpenLoopSample[], start: number): FaultResult['buckets'] {
  const end = Math.max(0, ...samples.map((s) => s.answeredAt - start));
  const n = Math.ceil(end / BUCKET_MS) + 1;
  const zero = () => new Array<number>(n).fill(0);
  const out = { ms: Array.from({ length: n }, (_, i) => i * BUCKET_MS), accepted: zero(), unavailable: zero(), otherStatus: zero(), networkErrors: zero() };
  for (const s of samples) {
    const i = Math.floor((s.answeredAt - start) / BUCKET_MS);
    if (s.status >= 200 && s.status < 300) out.accepted[i]++;
    else if (s.status === 503) out.unavailable[i]++;
    else if (s.status === 0) out.networkErrors[i]++;
    else out.otherStatus[i]++;
  }
  return out;
}
