import { Agent, request } from 'node:http';
import pg from 'pg';
import type { TopologyProcesses } from '../topology/topology-processes.js';
import { storeInvariantViolations, waitForQuiet } from '../support/store-invariants.js';
import { percentile, prng } from './stats.js';

/**
 * One process killed under load: `concurrency` clients POST /orders in a
 * closed loop (a client pauses `backoffMs` after a failure, as a polite client
 * would, rather than spinning on refused connections); after `preMs` the
 * target process is SIGKILLed, stays down `faultMs`, is started again (and
 * waited for until /health answers 200), and the load goes on until a request
 * sent after the kill is accepted again (at most `recoveryCapMs`), then `postMs` more.
 * Then the run waits until no order is PENDING and proves from the database
 * that no accepted order was lost (every 202's order exists and is terminal),
 * none was charged twice, and the store's invariants hold.
 *
 * The orders mix paths (mostly confirmed, some declined, some shipping
 * unavailable: compensations under the fault too), from the seed.
 */
export interface FaultOptions {
  readonly topology: TopologyProcesses;
  /** The process killed: the extracted module's, or the monolith itself. */
  readonly target: string;
  readonly baseUrl: string;
  readonly adminUrl: string;
  readonly concurrency: number;
  readonly faultMs: number;
  readonly preMs: number;
  readonly postMs: number;
  /** How long the load waits, after the restart, for the store to accept orders again. */
  readonly recoveryCapMs: number;
  readonly sku: string;
  readonly seed: number;
  readonly backoffMs: number;
  readonly quietTimeoutMs: number;
  readonly onTick: (text: string) => void;
}

export interface FaultResult {
  readonly target: string;
  readonly faultMs: number;
  readonly requests: number;
  readonly accepted: number;
  /** Answers by status ("202", "503", ...) and "network error" (refused/reset connections). */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Requests that did not get a 2xx: 503s, other statuses, network errors. */
  readonly failed: number;
  readonly unavailable503: number;
  /** ms from the kill: restart issued, process healthy again, first 202 of a request sent after the kill, first such order CONFIRMED. */
  readonly timeline: {
    readonly restartIssuedMs: number;
    readonly healthyMs: number;
    readonly firstAcceptedMs: number | null;
    readonly firstConfirmedMs: number | null;
  };
  /** How long requests sent between the kill and the process being healthy again waited for their answer, ms. */
  readonly outageAnswerMs: { readonly p50: number; readonly max: number };
  /** From the restart (the end of the forced outage) to the first order accepted after the kill being CONFIRMED, ms. */
  readonly timeToRecoverMs: number | null;
  /** Time to settle every order after the load, ms (a SIGKILLed monolith leaves its claimed sagas leased for 30 s). */
  readonly quietAfterMs: number;
  readonly quiet: boolean;
  /** Final status of every order of the fault load (also those whose 202 the client never got). */
  readonly orders: Readonly<Record<string, number>>;
  /** 202s whose order is missing from the database: lost. */
  readonly lost: number;
  /** Accepted orders not terminal after the wait. */
  readonly notTerminal: number;
  /** Orders in the database whose 202 never reached the client (the process died before answering): must be terminal too. */
  readonly unacknowledged: number;
  /** Orders with more than one payment, or with a captured payment while CANCELLED. */
  readonly chargedTwice: number;
  readonly invariantViolations: readonly string[];
  /** Every check passed: nothing lost, nothing pending, nobody charged twice, invariants hold. */
  readonly ok: boolean;
  /** 250 ms buckets from the load start: answers by kind, for the timeline chart. */
  readonly buckets: { readonly ms: readonly number[]; readonly accepted: readonly number[]; readonly unavailable: readonly number[]; readonly otherStatus: readonly number[]; readonly networkErrors: readonly number[] };
  /** ms from the load start: kill, restart issued, healthy. */
  readonly marks: { readonly killMs: number; readonly restartMs: number; readonly healthyMs: number };
}

interface Sample {
  readonly sentAt: number;
  readonly doneAt: number;
  readonly status: number;
  readonly orderId?: string;
}

const CUSTOMER = 'compare-fault';
const BUCKET_MS = 250;

export async function runFault(options: FaultOptions): Promise<FaultResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const random = prng(options.seed);
  const address = { name: 'Ada', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' };
  const samples: Sample[] = [];
  let stop = false;
  let killAt = 0;
  let acceptedAgainAt: number | undefined;
  const start = performance.now();
  const worker = async () => {
    while (!stop) {
      const r = random();
      const body = JSON.stringify({
        customerId: CUSTOMER,
        items: [{ sku: options.sku, quantity: 1 }],
        paymentToken: r < 0.08 ? 'tok_declined' : 'tok_visa',
        shippingAddress: r > 0.94 ? { ...address, country: 'AQ' } : address,
      });
      const sentAt = performance.now();
      const answer = await post(agent, `${options.baseUrl}/orders`, body);
      const doneAt = performance.now();
      samples.push({ sentAt, doneAt, ...answer });
      const ok = answer.status >= 200 && answer.status < 300;
      if (ok && killAt > 0 && sentAt >= killAt && acceptedAgainAt === undefined) acceptedAgainAt = doneAt;
      if (answer.status < 200 || answer.status >= 300) await new Promise((resolve) => setTimeout(resolve, options.backoffMs));
    }
  };
  const workers = Array.from({ length: options.concurrency }, worker);

  const ticker = setInterval(() => options.onTick(`fault: ${samples.length} requests, ${Math.round((performance.now() - start) / 1000)} s`), 500);
  let restartAt = 0;
  let healthyAt = 0;
  try {
    await sleep(options.preMs);
    killAt = performance.now();
    const killedAtDb = new Date();
    await options.topology.stopProcess(options.target, 'SIGKILL');
    await sleep(Math.max(0, options.faultMs - (performance.now() - killAt)));
    restartAt = performance.now();
    await options.topology.startProcess(options.target);
    healthyAt = performance.now();
    while (acceptedAgainAt === undefined && performance.now() - healthyAt < options.recoveryCapMs) await sleep(50);
    await sleep(options.postMs);
    stop = true;
    await Promise.all(workers);
    clearInterval(ticker);
    agent.destroy();

    const quietStart = performance.now();
    const quiet = await waitForQuiet(options.adminUrl, options.quietTimeoutMs, (n) => options.onTick(`fault: waiting for ${n} pending orders to settle`));
    const quietAfterMs = performance.now() - quietStart;

    const accepted = samples.filter((s) => s.status >= 200 && s.status < 300 && s.orderId);
    const acceptedIds = accepted.map((s) => s.orderId!);
    const afterKill = accepted.filter((s) => s.sentAt >= killAt);
    const admin = new pg.Client({ connectionString: options.adminUrl });
    await admin.connect();
    try {
      const { rows: found } = await admin.query<{ id: string; status: string }>('SELECT id, status FROM orders.orders WHERE id = ANY($1::uuid[])', [acceptedIds]);
      const foundIds = new Set(found.map((r) => r.id));
      const { rows: all } = await admin.query<{ id: string; status: string; reason: string | null }>(
        'SELECT id, status, failure_reason AS reason FROM orders.orders WHERE customer_id = $1',
        [CUSTOMER],
      );
      const acknowledged = new Set(acceptedIds);
      const { rows: twice } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (
           SELECT o.id FROM orders.orders o JOIN payments.payments p ON p.order_id = o.id
            WHERE o.customer_id = $1
            GROUP BY o.id, o.status
           HAVING count(*) > 1 OR (o.status = 'CANCELLED' AND count(*) FILTER (WHERE p.status = 'CAPTURED') > 0)) x`,
        [CUSTOMER],
      );
      // The first order accepted after the kill to be confirmed: DB clock, shifted to this process's clock.
      const { rows: [first] } = await admin.query<{ t: Date | null }>(
        `SELECT min(updated_at) AS t FROM orders.orders WHERE id = ANY($1::uuid[]) AND status = 'CONFIRMED'`,
        [afterKill.map((s) => s.orderId!)],
      );
      const firstConfirmedMs = first.t ? first.t.getTime() - killedAtDb.getTime() : null;
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
      const notTerminal = found.filter((r) => r.status === 'PENDING').length;
      const violations = await storeInvariantViolations(options.adminUrl);
      const duringOutage = samples.filter((s) => s.sentAt >= killAt && s.sentAt < healthyAt).map((s) => s.doneAt - s.sentAt);
      const firstAccepted = afterKill.length ? Math.min(...afterKill.map((s) => s.doneAt)) - killAt : null;
      return {
        target: options.target,
        faultMs: options.faultMs,
        requests: samples.length,
        accepted: accepted.length,
        outcomes,
        failed: samples.length - accepted.length,
        unavailable503: outcomes['503'] ?? 0,
        timeline: {
          restartIssuedMs: Math.round(restartAt - killAt),
          healthyMs: Math.round(healthyAt - killAt),
          firstAcceptedMs: firstAccepted === null ? null : Math.round(firstAccepted),
          firstConfirmedMs,
        },
        outageAnswerMs: { p50: Math.round(percentile(duringOutage, 50)), max: Math.round(duringOutage.length ? Math.max(...duringOutage) : Number.NaN) },
        timeToRecoverMs: firstConfirmedMs === null ? null : Math.round(firstConfirmedMs - (restartAt - killAt)),
        quietAfterMs: Math.round(quietAfterMs),
        quiet: quiet.quiet,
        orders,
        lost,
        notTerminal,
        unacknowledged: all.filter((o) => !acknowledged.has(o.id)).length,
        chargedTwice: twice[0].n,
        invariantViolations: violations,
        ok: quiet.quiet && lost === 0 && notTerminal === 0 && twice[0].n === 0 && violations.length === 0,
        buckets: buckets(samples, start),
        marks: { killMs: Math.round(killAt - start), restartMs: Math.round(restartAt - start), healthyMs: Math.round(healthyAt - start) },
      };
    } finally {
      await admin.end();
    }
  } finally {
    stop = true;
    clearInterval(ticker);
    agent.destroy();
  }
}

function buckets(samples: readonly Sample[], start: number): FaultResult['buckets'] {
  const end = Math.max(0, ...samples.map((s) => s.doneAt - start));
  const n = Math.ceil(end / BUCKET_MS) + 1;
  const zero = () => new Array<number>(n).fill(0);
  const out = { ms: Array.from({ length: n }, (_, i) => i * BUCKET_MS), accepted: zero(), unavailable: zero(), otherStatus: zero(), networkErrors: zero() };
  for (const s of samples) {
    const i = Math.floor((s.doneAt - start) / BUCKET_MS);
    if (s.status >= 200 && s.status < 300) out.accepted[i]++;
    else if (s.status === 503) out.unavailable[i]++;
    else if (s.status === 0) out.networkErrors[i]++;
    else out.otherStatus[i]++;
  }
  return out;
}

function post(agent: Agent, url: string, body: string): Promise<{ status: number; orderId?: string }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: 'POST', agent, timeout: 30_000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          let orderId: string | undefined;
          try {
            orderId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { orderId?: string }).orderId;
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, orderId });
        });
        res.on('error', () => resolve({ status: 0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0 }));
    req.end(body);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

