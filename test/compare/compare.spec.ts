import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';

/**
 * `npm run compare` (tools/compare) run for real from the build: the
 * equivalence part only, on the test PostgreSQL (DATABASE_URL of the jest
 * global setup: a fresh database per topology) and NATS.
 * - Without a planted difference, monolith and microservices answer the
 *   scenario identically, and the tool says so (exit 0); the scenario reads the
 *   customer's notifications after every order, and the final state holds them.
 * - With a difference planted through configuration in one topology only
 *   (CHECKOUT_DEADLINE_MS=10 for microservices: its orders time out instead of
 *   being confirmed) and a slow module (microservices' inventory process
 *   reaches NATS through a proxy adding 60 ms each way), the verdict names the
 *   differing orders and fields, and inventory as the slow module, from the
 *   callers' own timings, not orders (whose placeOrder waits for inventory) (exit 1).
 */
const CLI = fileURLToPath(new URL('../../dist/tools/compare/compare.cli.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function compare(args: readonly string[]): Promise<Run> {
  if (!existsSync(CLI)) throw new Error(`no build at ${CLI}: run \`npm run build\` (npm test builds first)`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NATS_URL }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Results {
  ok: boolean;
  slowModules: Array<{ topology: string; module: string; meanMs: number }>;
  topologies: Array<{ name: string; status: string }>;
  equivalence: {
    reference: string;
    verdict: string;
    comparisons: Array<{ topology: string; identical: boolean; differences: Array<{ where: string; path: string; expected: unknown; got: unknown }> }>;
  };
}

describe('npm run compare: bad options', () => {
  it('refuses a bad option with one line and exit code 2', async () => {
    const run = await compare(['--duration', 'soon']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([`compare: --duration: expected a number from 1 to 600, got 'soon'`]);
    const wait = await compare(['--prefer-wait', '31']);
    expect(wait.code).toBe(2);
    expect(wait.stderr.trim().split('\n')).toEqual([`compare: --prefer-wait: expected a number from 0 to 30, got '31'`]);
    const planted = await compare(['--topologies', 'monolith', '--env', 'microservices:CHECKOUT_DEADLINE_MS=10']);
    expect(planted.code).toBe(2);
    expect(planted.stderr).toContain(`'microservices' is not among the topologies compared`);
  });
});

describeWithNats('npm run compare --only equivalence (monolith vs microservices)', () => {
  const out = mkdtempSync(join(tmpdir(), 'mf-compare-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('says the topologies are identical when they are', async () => {
    const dir = join(out, 'same');
    const run = await compare(['--only', 'equivalence', '--topologies', 'monolith,microservices', '--out', dir]);
    if (run.code !== 0) console.log(run.stdout, run.stderr);
    expect(run.code).toBe(0);
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    expect(results.topologies.map((t) => t.status)).toEqual(['ran', 'ran']);
    expect(results.equivalence.verdict).toBe('identical');
    expect(results.equivalence.comparisons).toEqual([{ topology: 'microservices', identical: true, differences: [] }]);
    expect(results.slowModules).toEqual([]);
    expect(run.stdout).toContain('Equivalence: **identical**');
    for (const file of ['report.html', 'summary.md', 'transcript-monolith.json', 'transcript-microservices.json'])
      expect(existsSync(join(dir, file))).toBe(true);

    // The customer's notifications, as the client saw them at the end and as the state holds them: one per order and
    // kind (an order the scenario's carrier delivered or returned, or its customer cancelled, has two).
    const seen = JSON.parse(readFileSync(join(dir, 'transcript-microservices.json'), 'utf8')) as {
      transcript: Array<{ label: string; request: string; status: number; body: unknown }>;
      state: Record<string, Record<string, unknown>>;
    };
    const final = seen.transcript.find((entry) => entry.label === 'final: notifications of the customer')!;
    expect(final.request).toMatch(/^GET \/notifications\?customerId=cust-\d+$/);
    expect(final.status).toBe(200);
    const listed = final.body as Array<{ orderId: string; kind: string; reason: string | null }>;
    expect(listed.map((n) => `${n.kind} ${n.reason}`)).toEqual([
      'ORDER_CONFIRMED null',
      'ORDER_CANCELLED PAYMENT_DECLINED',
      'ORDER_CANCELLED OUT_OF_STOCK',
      'ORDER_CANCELLED OUT_OF_STOCK',
      'ORDER_CONFIRMED null',
      'ORDER_CANCELLED SHIPPING_UNAVAILABLE',
      'ORDER_CONFIRMED null',
      ...listed.slice(7).map((n) => `${n.kind} ${n.reason}`),
    ]);
    const orders = Object.keys(seen.state.orders);
    expect(Object.keys(seen.state.notifications).sort()).toEqual([...orders].sort());
    expect([...new Set(listed.map((n) => n.orderId))]).toEqual(orders);
    expect(listed.map((n) => `${n.kind} ${n.reason}`)).toEqual(
      expect.arrayContaining(['REVIEW_REQUESTED null', 'ORDER_CANCELLED RETURNED', 'ORDER_CANCELLED CANCELLED_BY_CUSTOMER']),
    );
    expect(seen.transcript.find((entry) => entry.label.startsWith('bad input: notifications without a customer'))).toMatchObject({ status: 400 });
  }, 240_000);

  it('names the orders and fields of a difference planted in one topology', async () => {
    const dir = join(out, 'planted');
    const run = await compare([
      '--only',
      'equivalence',
      '--topologies',
      'monolith,microservices',
      '--env',
      'microservices:CHECKOUT_DEADLINE_MS=10',
      '--slow',
      'microservices:inventory=60',
      '--out',
      dir,
    ]);
    expect(run.code).toBe(1);
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    expect(results.ok).toBe(false);
    expect(results.equivalence.verdict).toBe('different');
    const [comparison] = results.equivalence.comparisons;
    expect(comparison.topology).toBe('microservices');
    expect(comparison.identical).toBe(false);
    const differences = comparison.differences;

    // What the client saw: the happy-path order, the first id of the scenario, is CANCELLED / TIMED_OUT instead of CONFIRMED.
    const happy = differences.filter((d) => d.where.includes('GET /orders/<id1> (happy: the order)'));
    expect(happy).toEqual(
      expect.arrayContaining([
        { where: expect.any(String), path: 'body.status', expected: 'CONFIRMED', got: 'CANCELLED' },
        { where: expect.any(String), path: 'body.failureReason', expected: null, got: 'TIMED_OUT' },
      ]),
    );
    // The final state, row by row: the same order in orders.orders.
    expect(differences).toEqual(
      expect.arrayContaining([
        { where: 'state orders[<id1>]', path: 'status', expected: 'CONFIRMED', got: 'CANCELLED' },
        { where: 'state orders[<id1>]', path: 'failureReason', expected: null, got: 'TIMED_OUT' },
      ]),
    );
    // What the customer was told follows: the happy order's notification, as listed and as stored.
    expect(differences).toEqual(
      expect.arrayContaining([
        { where: expect.stringContaining('(happy: notifications of the customer)'), path: 'body[0].kind', expected: 'ORDER_CONFIRMED', got: 'ORDER_CANCELLED' },
        { where: 'state notifications[<id1>]', path: '[0].kind', expected: 'ORDER_CONFIRMED', got: 'ORDER_CANCELLED' },
        { where: 'state notifications[<id1>]', path: '[0].reason', expected: null, got: 'TIMED_OUT' },
      ]),
    );
    // Ids stay aligned after the difference: requests nobody's config touches (bad input) are not reported.
    expect(differences.some((d) => d.where.includes('bad input'))).toBe(false);
    // The slow module, named from what its callers measured: inventory only (orders waits for it, and is not blamed).
    expect(results.slowModules.map((s) => `${s.topology}/${s.module}`)).toEqual(['microservices/inventory']);
    expect(results.slowModules[0].meanMs).toBeGreaterThanOrEqual(120);
    expect(run.stdout).toContain('Slow module: **`inventory` in microservices**');
    // And the terminal and the Markdown say so.
    expect(run.stdout).toContain('microservices **DIFFERS** from monolith');
    expect(run.stdout).toContain('GET /orders/<id1> (happy: the order) body.status: expected "CONFIRMED", got "CANCELLED"');
    const summary = readFileSync(join(dir, 'summary.md'), 'utf8');
    expect(summary).toContain('state orders[<id1>] status: expected "CONFIRMED", got "CANCELLED"');
  }, 240_000);
});
