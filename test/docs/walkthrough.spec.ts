import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';
// @ts-expect-error: plain JavaScript shared with the global setup and the reporter
import { recordSkip } from '../support/skipped-suites.js';
import { builtMain, spawnStore, stopAllStores } from '../support/spawn-store.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { http } from '../support/test-store.js';

/**
 * README's curl walkthrough, as a newcomer pastes it: taken from README.md (the bash block after
 * the `<!-- walkthrough` marker), run by bash against the built store, twice in a row on the same
 * database. The second run must answer as the first did: no 409 for a sku the first run made, no
 * replay of the first run's Idempotency-Key.
 */

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const TOOLS = ['bash', 'curl', 'sed', 'grep'];
const missing = TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
const REASON = `the walkthrough needs ${missing.join(', ')}, not installed here`;

/** The walkthrough's bash block. */
export function walkthroughOf(markdown: string): string {
  const marker = markdown.indexOf('<!-- walkthrough');
  if (marker < 0) throw new Error('README.md has no <!-- walkthrough --> marker before its curl walkthrough');
  const block = /```bash\n([\s\S]*?)\n```/.exec(markdown.slice(marker));
  if (!block) throw new Error('no ```bash block after the walkthrough marker');
  return block[1];
}

/** Every line of the output that is JSON, parsed (the curl wrapper puts each answer on its own line). */
function jsonLines(output: string): any[] {
  return output.split('\n').flatMap((line) => {
    try {
      return line.trim().startsWith('{') || line.trim().startsWith('[') ? [JSON.parse(line)] : [];
    } catch {
      return [];
    }
  });
}

interface Run {
  readonly output: string;
  readonly customer: string;
  readonly skus: string[];
}

const describeWithTools = (title: string, fn: () => void): void => {
  if (missing.length === 0) return describe(title, fn);
  if (process.env.CI === 'true') {
    return describe(title, () => {
      it('has its tools', () => {
        throw new Error(`${REASON} (CI=true: every test must run)`);
      });
    });
  }
  console.warn(`!!! SKIPPED ${title}: ${REASON}`);
  recordSkip(expect.getState().testPath, title, REASON);
  describe.skip(title, fn);
};

describeWithTools("README's curl walkthrough", () => {
  let database: TestDatabase;
  let base: { url: string };
  const runs: Run[] = [];

  beforeAll(async () => {
    builtMain();
    database = await createTestDatabase('mf_walkthrough');
    const store = spawnStore({ DATABASE_URL: database.url });
    base = { url: `http://127.0.0.1:${await store.port()}` };
  }, 120_000);
  afterAll(async () => {
    await stopAllStores();
    await database?.drop();
  });

  const run = (): Run => {
    const script = walkthroughOf(readFileSync(README, 'utf8')).replaceAll('localhost:3000', base.url.replace('http://', ''));
    // Each answer on a line of its own, as a terminal shows them one command at a time.
    const result = spawnSync('bash', ['-c', `set -e\ncurl() { command curl "$@"; echo; }\n${script}`], { encoding: 'utf8', timeout: 90_000 });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    const output = result.stdout;
    const values = jsonLines(output);
    const products = values.filter((value) => typeof value?.sku === 'string' && 'onHand' in value);
    const orders = values.filter((value) => typeof value?.orderId === 'string' && Array.isArray(value.items));
    return { output, customer: orders[0]?.customerId, skus: [...new Set(products.map((product) => product.sku as string))] };
  };

  it.each([1, 2])(
    'run %i: every step answers as the README says',
    (_run) => {
      const { output, customer, skus } = run();
      const values = jsonLines(output);
      const orders = values.filter((value) => typeof value?.orderId === 'string' && Array.isArray(value.items));

      // Nothing refused but the bad input of step 7: no sku taken, no key reused, no error.
      expect(output).not.toMatch(/"status":(409|422|5\d\d)/);
      expect(skus).toHaveLength(2);
      expect(customer).toMatch(/^cust-/);
      expect(orders.every((order) => order.customerId === customer)).toBe(true);

      expect(orders).toContainEqual(expect.objectContaining({ status: 'CONFIRMED', totalCents: 5198 }));
      expect(orders).toContainEqual(expect.objectContaining({ status: 'CANCELLED', failureReason: 'OUT_OF_STOCK' }));
      expect(orders).toContainEqual(expect.objectContaining({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_CUSTOMER' }));
      expect(values).toContainEqual(expect.objectContaining({ onHand: 10, reserved: 2, available: 8 }));
      expect(values).toContainEqual(expect.arrayContaining([expect.objectContaining({ status: 'REFUNDED' })]));
      expect(output).toMatch(/^link: <\/notifications\?customerId=cust-[^>]*limit=2&after=[^>]+>; rel="next"/im);
      expect(output).toMatch(/^HTTP\/1\.1 201 Created/m);
      expect(output).toMatch(/^preference-applied: wait=10/im);
      expect(values).toContainEqual(expect.objectContaining({ status: 400, errors: [{ field: 'items[0].quantity', message: 'must be an integer number' }] }));

      runs.push({ output, customer, skus });
      if (runs.length === 2) {
        expect(runs[1].customer).not.toBe(runs[0].customer);
        expect(runs[1].skus.filter((sku) => runs[0].skus.includes(sku))).toEqual([]);
      }
    },
    120_000,
  );

  it("Notifications gets each run's four notifications: two confirmations, two cancellations", async () => {
    expect(runs).toHaveLength(2);
    for (const { customer } of runs) {
      await eventually(async () => {
        const { status, body } = await http(base, 'GET', `/notifications?customerId=${customer}`);
        expect(status).toBe(200);
        expect((body as Array<{ kind: string }>).map((n) => n.kind).sort()).toEqual([
          'ORDER_CANCELLED',
          'ORDER_CANCELLED',
          'ORDER_CONFIRMED',
          'ORDER_CONFIRMED',
        ]);
      }, 30_000);
    }
  }, 60_000);
});
