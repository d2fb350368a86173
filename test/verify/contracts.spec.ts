import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VerifyRunner } from '../support/verify-runner.js';

/**
 * The contract compatibility gate of `npm run verify`, as verify.spec.ts meets
 * the boundary rules: the built verify command (the CLI's own, run by VerifyRunner) on a temporary copy of this tree (with its
 * committed contracts.snapshot.json, the previous release), in which each test
 * plants changes to contracts and asserts what fails, naming module,
 * operation or event, and field.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const COMMAND = join(REPO, 'dist/tools/verify/verify-command.js');
const COPIED = ['src', 'migrations', 'package.json', 'tsconfig.json', 'verify-baseline.json', 'contracts.snapshot.json'];
const SNAPSHOT = 'contracts.snapshot.json';

const copies: string[] = [];

function copyTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'contracts-'));
  copies.push(root);
  for (const entry of COPIED) cpSync(join(REPO, entry), join(root, entry), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
  return root;
}

function edit(root: string, file: string, change: (text: string) => string): void {
  const before = readFileSync(join(root, file), 'utf8');
  const after = change(before);
  if (after === before) throw new Error(`planting into ${file} changed nothing: the tree moved on, update the test`);
  writeFileSync(join(root, file), after);
}

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Failing blocks: `[rule] file:line — what — fix`. */
  readonly failing: string[];
  /** `what` of each [contract-breaking] block. */
  readonly breaks: string[];
  readonly notices: string[];
}

let runner: VerifyRunner;

/** `npm run verify -- --root <root> ...args`, in the suite's one verify process (see VerifyRunner). */
async function verify(root: string, ...args: string[]): Promise<Run> {
  const result = await runner.run(['--root', root, ...args]);
  const lines = result.stdout.split('\n');
  const failing = lines.filter((line) => line.startsWith('['));
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    failing,
    breaks: failing
      .filter((line) => line.startsWith('[contract-breaking] '))
      .map((line) => line.split(' — ')[1].replace(/: breaks consumers of the previous release$/, '')),
    notices: lines.filter((line) => line.startsWith('contract changed compatibly: ')),
  };
}

beforeAll(async () => {
  if (!existsSync(COMMAND)) throw new Error(`no build at ${COMMAND}: run \`npm run build\` first (\`npm test\` builds before testing)`);
  runner = await VerifyRunner.start(COMMAND);
});

afterAll(async () => {
  await runner?.stop();
  for (const root of copies) rmSync(root, { recursive: true, force: true });
});

describe('the contract compatibility gate', () => {
  it('passes on the tree with the committed snapshot, and the snapshot records every module', async () => {
    const run = await verify(copyTree());
    expect({ status: run.status, failing: run.failing, notices: run.notices }).toEqual({ status: 0, failing: [], notices: [] });
    const snapshot = JSON.parse(readFileSync(join(REPO, SNAPSHOT), 'utf8'));
    expect(Object.keys(snapshot.modules)).toEqual(['inventory', 'notifications', 'orders', 'payments', 'shipping']);
    expect(Object.keys(snapshot.modules.orders.events)).toEqual([
      'orders.OrderCancelled',
      'orders.OrderConfirmed',
      'orders.OrderPlaced',
      'orders.ReviewRequested',
    ]);
  });

  it('fails on breaking input changes: a removed operation, a removed or renamed field, a new required field, a type, tighter constraints', async () => {
    const root = copyTree();
    edit(root, 'src/modules/inventory/contract/inventory.contract.ts', (t) => t.replace(/ {2}getProduct: query.*\n/, ''));
    edit(root, 'src/modules/orders/contract/place-order.command.ts', (t) =>
      t.replace(/ {2}@IsOptional\(\)\n {2}@IsString\(\)\n {2}@Length\(1, 200\)\n {2}readonly idempotencyKey\?: string;\n/, ''),
    );
    edit(root, 'src/modules/payments/contract/get-payment.query.ts', (t) => t.replace('readonly paymentId: string', 'readonly id: string'));
    edit(root, 'src/modules/inventory/contract/restock-product.command.ts', (t) =>
      t.replace('readonly quantity: number;', 'readonly quantity: number;\n\n  @IsString()\n  readonly reason: string;'),
    );
    edit(root, 'src/modules/shipping/contract/get-shipment.query.ts', (t) =>
      t.replace("import { IsString } from 'class-validator';", "import { IsInt } from 'class-validator';").replace('@IsString()', '@IsInt()'),
    );
    edit(root, 'src/modules/inventory/contract/stock-line.ts', (t) => t.replace('@Max(1000)', '@Max(999)'));
    edit(root, 'src/modules/shipping/contract/shipping-address.ts', (t) => t.replace('@Length(1, 20)', '@Length(1, 10)'));
    edit(root, 'src/modules/payments/contract/find-payments.query.ts', (t) =>
      t
        .replace("import { IsString } from 'class-validator';", "import { IsString, Matches } from 'class-validator';")
        .replace('@IsString()', '@IsString()\n  @Matches(/^[0-9a-f-]+$/)'),
    );
    const run = await verify(root);
    expect(run.status).toBe(1);
    expect(run.breaks.sort()).toEqual([
      'inventory operation getProduct: removed',
      'inventory operation reserveStock, input field lines[].quantity: maximum lowered from 1000 to 999',
      'inventory operation restockProduct, input field reason: added as required',
      'orders operation placeOrder, input field idempotencyKey: removed',
      'orders operation placeOrder, input field items[].quantity: maximum lowered from 1000 to 999',
      'orders operation placeOrder, input field shippingAddress.postalCode: maxLength lowered from 20 to 10',
      'payments operation findPayments, input field orderId: new pattern "^[0-9a-f-]+$"',
      'payments operation getPayment, input field id: added as required',
      'payments operation getPayment, input field paymentId: removed',
      'shipping operation getShipment, input field shipmentId: type changed from string to integer',
      'shipping operation scheduleShipment, input field address.postalCode: maxLength lowered from 20 to 10',
    ]);
    // Where: a removed operation at its snapshot entry, a changed one at its declaration; and how to fix or accept.
    const removed = run.failing.find((line) => line.includes('getProduct: removed'))!;
    const snapshotLine =
      readFileSync(join(root, SNAPSHOT), 'utf8')
        .split('\n')
        .findIndex((line) => line.includes('"getProduct": {')) + 1;
    expect(removed).toMatch(new RegExp(`^\\[contract-breaking\\] contracts\\.snapshot\\.json:${snapshotLine} — `));
    expect(removed).toContain('npm run verify -- --update-contracts');
    const required = run.failing.find((line) => line.includes('reason: added as required'))!;
    expect(required).toMatch(/^\[contract-breaking\] src\/modules\/inventory\/contract\/inventory\.contract\.ts:\d+ — /);
    expect(required).toContain('make it @IsOptional()');
  });

  it('fails on breaking output changes: a result field removed, retyped, made nullable or optional', async () => {
    const root = copyTree();
    edit(root, 'src/modules/inventory/contract/price.view.ts', (t) => t.replace('  readonly priceCents: number;\n', ''));
    edit(root, 'src/modules/payments/contract/payment.view.ts', (t) => t.replace('readonly amountCents: number;', 'readonly amountCents: string;'));
    edit(root, 'src/modules/shipping/contract/shipment.view.ts', (t) => t.replace('readonly createdAt: string;', 'readonly createdAt: string | null;'));
    edit(root, 'src/modules/orders/contract/place-order.result.ts', (t) => t.replace('readonly created: boolean;', 'readonly created?: boolean;'));
    const run = await verify(root);
    expect(run.status).toBe(1);
    expect(run.breaks.sort()).toEqual([
      'inventory operation getPrices, output field [].priceCents: removed',
      'orders operation placeOrder, output field created: became optional (may be absent)',
      ...['chargePayment', 'findPayments', 'getPayment', 'refundPayment'].map(
        (op) => `payments operation ${op}, output field ${op === 'findPayments' ? 'items[].' : ''}amountCents: type changed from number to string`,
      ),
      ...['cancelShipment', 'findShipments', 'getShipment', 'scheduleShipment'].map(
        (op) => `shipping operation ${op}, output field ${op === 'findShipments' ? 'items[].' : ''}createdAt: may now be null`,
      ),
    ]);
  });

  it('fails on breaking event changes: removed, version lowered, a new version dropping a field, a payload changed without a bump', async () => {
    const root = copyTree();
    edit(root, 'src/modules/orders/index.ts', (t) =>
      t.replace('export { OrderPlaced, OrderConfirmed, OrderCancelled, ReviewRequested }', 'export { OrderConfirmed, OrderCancelled, ReviewRequested }'),
    );
    // Version 3 without `reason`: a v2 subscriber cannot read it.
    edit(root, 'src/modules/orders/contract/order-events.ts', (t) =>
      t
        .replace("name: 'orders.OrderCancelled', version: 2", "name: 'orders.OrderCancelled', version: 3")
        .replace(/ {2}@IsIn\(FAILURE_REASONS\)\n {2}readonly reason: FailureReason;\n/, '')
        // A field added to OrderConfirmed, still version 2.
        .replace('readonly shipmentId: string;\n', 'readonly shipmentId: string;\n\n  @IsUUID()\n  readonly carrierId: string;\n'),
    );
    const run = await verify(root);
    expect(run.status).toBe(1);
    expect(run.breaks.sort()).toEqual([
      'orders event orders.OrderCancelled, payload field reason: removed in version 3',
      'orders event orders.OrderConfirmed, payload field carrierId: added, without a version bump',
      'orders event orders.OrderPlaced: removed (was version 1)',
    ]);
    expect(run.failing.find((line) => line.includes('carrierId'))).toContain('bump the version in @IntegrationEvent to 3');

    // The previous release had OrderConfirmed at version 4: this tree's 2 is lower.
    const lowered = copyTree();
    edit(lowered, SNAPSHOT, (t) => t.replace(/("orders\.OrderConfirmed": \{[\s\S]*?"version": )2/, '$14'));
    expect((await verify(lowered)).breaks).toEqual(['orders event orders.OrderConfirmed: version lowered from 4 to 2']);
  });

  it('passes a compatible change with a notice; --update-contracts records it and says what changed; the next run is clean', async () => {
    const root = copyTree();
    edit(root, 'src/modules/inventory/contract/restock-product.command.ts', (t) =>
      t
        .replace('import { IsInt, IsString', 'import { IsInt, IsOptional, IsString')
        .replace('readonly quantity: number;', 'readonly quantity: number;\n\n  @IsOptional()\n  @IsString()\n  readonly reason?: string;'),
    );
    edit(root, 'src/modules/inventory/contract/price.view.ts', (t) =>
      t.replace('readonly priceCents: number;', 'readonly priceCents: number;\n  readonly currency: string;'),
    );
    // As notifications needed: OrderConfirmed's next version keeps every field, adds two.
    edit(root, 'src/modules/orders/contract/order-events.ts', (t) =>
      t
        .replace("name: 'orders.OrderConfirmed', version: 2", "name: 'orders.OrderConfirmed', version: 3")
        .replace(
          'readonly shipmentId: string;\n',
          'readonly shipmentId: string;\n\n  @IsString()\n  readonly carrierId: string;\n\n  @IsInt()\n  @Min(0)\n  readonly weightGrams: number;\n',
        ),
    );
    // Each operation takes an input class of its own (defineContract refuses a shared one).
    edit(root, 'src/modules/payments/contract/payments.contract.ts', (t) =>
      t
        .replace('export const PaymentsContract', 'class ListPaymentsQuery extends FindPaymentsQuery {}\n\nexport const PaymentsContract')
        .replace('  findPayments:', '  listPayments: query<ListPaymentsQuery, PaymentView[]>(ListPaymentsQuery),\n  findPayments:'),
    );
    const expected = [
      'inventory operation getPrices, output field [].currency: added',
      'inventory operation restockProduct, input field reason: added (optional)',
      'orders event orders.OrderConfirmed, payload field carrierId: added in version 3',
      'orders event orders.OrderConfirmed, payload field weightGrams: added in version 3',
      'orders event orders.OrderConfirmed: version 2 -> 3',
      'payments operation listPayments: added (query)',
    ];
    const run = await verify(root);
    expect({ status: run.status, failing: run.failing }).toEqual({ status: 0, failing: [] });
    expect(
      run.notices.map((line) => line.replace(/^contract changed compatibly: (.*) — run npm run verify -- --update-contracts to record it$/, '$1')).sort(),
    ).toEqual(expected);

    // Not recorded: a release branch can insist.
    const strict = await verify(root, '--strict-contracts');
    expect(strict.status).toBe(1);
    expect(strict.failing.filter((line) => line.startsWith('[contract-unrecorded] contracts.snapshot.json:1 — '))).toHaveLength(expected.length);

    const update = await verify(root, '--update-contracts');
    expect(update.status).toBe(0);
    expect(update.stdout).toContain(`verify: wrote ${SNAPSHOT} (5 modules), recording 6 changes (0 breaking):`);
    for (const change of expected) expect(update.stdout).toContain(`  compatible: ${change}\n`);
    const recorded = JSON.parse(readFileSync(join(root, SNAPSHOT), 'utf8'));
    expect(recorded.modules.orders.events['orders.OrderConfirmed'].version).toBe(3);

    const next = await verify(root);
    expect({ status: next.status, failing: next.failing, notices: next.notices }).toEqual({ status: 0, failing: [], notices: [] });
  });

  it('accepts an intended breaking change with --update-contracts, naming it', async () => {
    const root = copyTree();
    edit(root, 'src/modules/inventory/contract/price.view.ts', (t) => t.replace('  readonly priceCents: number;\n', ''));
    const update = await verify(root, '--update-contracts');
    expect(update.status).toBe(0);
    expect(update.stdout).toContain('  breaking: inventory operation getPrices, output field [].priceCents: removed\n');
    expect((await verify(root)).status).toBe(0);
  });

  it('gives one clear line and a non-zero exit on a corrupt snapshot, fails without one, and --update-contracts rewrites it', async () => {
    const root = copyTree();
    writeFileSync(join(root, SNAPSHOT), '{ "modules": { "orders": ');
    const corrupt = await verify(root);
    expect(corrupt.status).toBe(2);
    expect(corrupt.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^verify: contracts\.snapshot\.json is not valid JSON \(.+\); rewrite it with npm run verify -- --update-contracts$/),
    ]);
    writeFileSync(join(root, SNAPSHOT), '{ "modules": { "orders": { "operations": [] } } }\n');
    const shape = await verify(root);
    expect(shape.status).toBe(2);
    expect(shape.stderr.trim()).toBe(
      'verify: contracts.snapshot.json: module "orders" needs "operations" and "events" objects; rewrite it with npm run verify -- --update-contracts',
    );

    rmSync(join(root, SNAPSHOT));
    const missing = await verify(root);
    expect(missing.status).toBe(1);
    expect(missing.failing).toEqual([
      '[contract-snapshot] contracts.snapshot.json:1 — no snapshot of the contracts to compare with — record them with npm run verify -- --update-contracts, and commit contracts.snapshot.json',
    ]);

    writeFileSync(join(root, SNAPSHOT), 'garbage');
    expect((await verify(root, '--update-contracts')).status).toBe(0);
    expect(readFileSync(join(root, SNAPSHOT), 'utf8')).toBe(readFileSync(join(REPO, SNAPSHOT), 'utf8'));
  });
});
