import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VerifyRunner } from '../support/verify-runner.js';

/**
 * `npm run verify` as a team meets it: the built CLI, run on a temporary copy
 * of this tree in which each test plants one kind of violation, and asserts
 * that it fails naming the rule and the file (and line) — and that a baseline
 * entry silences exactly that violation.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'dist/tools/verify/verify.cli.js');
const COMMAND = join(REPO, 'dist/tools/verify/verify-command.js');
const DOCS_CLI = join(REPO, 'dist/tools/verify/architecture-docs.cli.js');
const COPIED = ['src', 'migrations', 'package.json', 'tsconfig.json', 'verify-baseline.json', 'contracts.snapshot.json'];

const copies: string[] = [];

/** A copy of what the checker reads (node_modules linked, not copied). */
function copyTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'verify-'));
  copies.push(root);
  for (const entry of COPIED) {
    if (existsSync(join(REPO, entry))) cpSync(join(REPO, entry), join(root, entry), { recursive: true });
  }
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
  return root;
}

function write(root: string, file: string, text: string): void {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), text);
}

function edit(root: string, file: string, change: (text: string) => string): void {
  const before = readFileSync(join(root, file), 'utf8');
  const after = change(before);
  if (after === before) throw new Error(`planting into ${file} changed nothing: the tree moved on, update the test`);
  writeFileSync(join(root, file), after);
}

function manifest(root: string, module: string, dependsOn: Record<string, 'calls' | 'events'>): void {
  write(root, `src/modules/${module}/module.json`, `${JSON.stringify({ dependsOn }, null, 2)}\n`);
}

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The failing blocks: lines starting with `[rule]`. */
  readonly failing: string[];
  /** The known ones, listed from the baseline. */
  readonly known: string[];
}

let runner: VerifyRunner;

/** `npm run verify -- --root <root> ...args`, in the suite's one verify process (see VerifyRunner). */
async function verify(root: string, ...args: string[]): Promise<Run> {
  const result = await runner.run(['--root', root, ...args]);
  const lines = result.stdout.split('\n');
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    failing: lines.filter((line) => line.startsWith('[')),
    known: lines.filter((line) => line.startsWith('  [')).map((line) => line.trim()),
  };
}

/** Asserts exactly one failing block, for `rule` at `file:line`, and returns it. */
function expectOnly(run: Run, rule: string, file: string, line?: number): string {
  expect({ status: run.status, failing: run.failing }).toEqual({
    status: 1,
    failing: [expect.stringMatching(new RegExp(`^\\[${rule}\\] ${escape(file)}:${line ?? '\\d+'} — .+ — .+`))],
  });
  return run.failing[0];
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`no build at ${CLI}: run \`npm run build\` first (\`npm test\` builds before testing)`);
  runner = await VerifyRunner.start(COMMAND);
});

afterAll(async () => {
  await runner?.stop();
  for (const root of copies) rmSync(root, { recursive: true, force: true });
});

describe('npm run verify', () => {
  it('passes on the tree as it is', async () => {
    const run = await verify(copyTree());
    expect(run.failing).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^verify: ok: 0 violations/m);
  });

  describe('imports (dependency-cruiser)', () => {
    it("fails on a relative import of another module's internals", async () => {
      const root = copyTree();
      write(
        root,
        'src/modules/orders/internal/planted.ts',
        [
          '// planted by verify.spec',
          "import { PaymentEntity } from '../../payments/internal/infrastructure/payment.entity.js';",
          'export const planted = PaymentEntity;',
          '',
        ].join('\n'),
      );
      const block = expectOnly(await verify(root), 'deep-import', 'src/modules/orders/internal/planted.ts', 2);
      expect(block).toContain('src/modules/payments/internal/infrastructure/payment.entity.ts');
      expect(block).toContain("import from '../../payments/index.js'");
    });

    it('fails on a type-only import through a path alias', async () => {
      const root = copyTree();
      edit(root, 'tsconfig.json', (text) => text.replace('"compilerOptions": {', '"compilerOptions": {\n    "paths": { "@modules/*": ["./src/modules/*"] },'));
      write(
        root,
        'src/modules/orders/internal/planted.ts',
        [
          "import type { ShipmentEntity } from '@modules/shipping/internal/infrastructure/shipment.entity.js';",
          'export type Planted = ShipmentEntity;',
          '',
        ].join('\n'),
      );
      const block = expectOnly(await verify(root), 'deep-import', 'src/modules/orders/internal/planted.ts', 1);
      expect(block).toContain('src/modules/shipping/internal/infrastructure/shipment.entity.ts');
    });

    it("fails on a direct import of another module's contract/ file or composition root", async () => {
      const root = copyTree();
      write(
        root,
        'src/modules/orders/internal/planted.ts',
        [
          "import { InventoryContract } from '../../inventory/contract/inventory.contract.js';",
          "import payments from '../../payments/payments.module.js';",
          'export const planted = [InventoryContract, payments];',
          '',
        ].join('\n'),
      );
      const run = await verify(root);
      expect(run.status).toBe(1);
      expect(run.failing).toEqual([
        expect.stringMatching(
          /^\[deep-import\] src\/modules\/orders\/internal\/planted\.ts:1 — imports src\/modules\/inventory\/contract\/inventory\.contract\.ts/,
        ),
        expect.stringMatching(/^\[deep-import\] src\/modules\/orders\/internal\/planted\.ts:2 — imports src\/modules\/payments\/payments\.module\.ts/),
      ]);
    });

    it('fails when a module imports its own composition root, or its public face exposes internals', async () => {
      const root = copyTree();
      write(root, 'src/modules/inventory/internal/planted.ts', "import inventory from '../inventory.module.js';\nexport const planted = inventory;\n");
      edit(root, 'src/modules/inventory/index.ts', (text) => `${text}export { GetProductHandler } from './internal/get-product/get-product.handler.js';\n`);
      const run = await verify(root);
      expect(run.status).toBe(1);
      expect(run.failing).toEqual([
        expect.stringMatching(
          /^\[public-face\] src\/modules\/inventory\/index\.ts:\d+ — exposes src\/modules\/inventory\/internal\/get-product\/get-product\.handler\.ts/,
        ),
        expect.stringMatching(/^\[composition-root-import\] src\/modules\/inventory\/internal\/planted\.ts:1 — /),
      ]);
    });

    it('fails when the platform imports a module, even its public face', async () => {
      const root = copyTree();
      write(root, 'src/platform/planted.ts', "\nimport { OrdersContract } from '../modules/orders/index.js';\nexport const planted = OrdersContract;\n");
      const block = expectOnly(await verify(root), 'platform-imports-module', 'src/platform/planted.ts', 2);
      expect(block).toContain("imports module 'orders'");
    });

    it('fails on a cycle between modules', async () => {
      const root = copyTree();
      // Declared (as events only), so that the cycle is the one violation.
      manifest(root, 'payments', { orders: 'events' });
      write(root, 'src/modules/payments/internal/planted.ts', "import { OrderPlaced } from '../../orders/index.js';\nexport const planted = OrderPlaced;\n");
      const block = expectOnly(await verify(root), 'module-cycle', 'src/modules/orders/contract/checkout.request.ts');
      expect(block).toContain('orders → payments → orders');
      expect(block).toContain('src/modules/payments/internal/planted.ts:1');
    });
  });

  describe("the platform's public face and layers", () => {
    it('fails on a module importing a platform internal, naming the file', async () => {
      const root = copyTree();
      write(
        root,
        'src/modules/orders/internal/planted.ts',
        [
          "import { ModuleError } from '../../../platform/index.js';",
          "import { OutboxStore } from '../../../platform/messaging/outbox.store.js';",
          'export const planted = [ModuleError, OutboxStore];',
          '',
        ].join('\n'),
      );
      const block = expectOnly(await verify(root), 'platform-internal-import', 'src/modules/orders/internal/planted.ts', 2);
      expect(block).toContain('src/platform/messaging/outbox.store.ts');
      expect(block).toContain("import it from '../../../platform/index.js'");
    });

    it('fails on a contract file importing the whole face rather than the light one', async () => {
      const root = copyTree();
      write(
        root,
        'src/modules/inventory/contract/planted.ts',
        "import { ModuleSettings } from '../../../platform/index.js';\nexport const planted = ModuleSettings;\n",
      );
      const block = expectOnly(await verify(root), 'platform-internal-import', 'src/modules/inventory/contract/planted.ts', 1);
      expect(block).toContain("import it from '../../../platform/contracts/index.js'");
    });

    it('fails on a cycle between platform folders, naming a file for each step', async () => {
      const root = copyTree();
      write(root, 'src/platform/database/planted.ts', "import { Messaging } from '../messaging/messaging.js';\nexport const planted = Messaging;\n");
      const block = expectOnly(await verify(root), 'platform-layering', 'src/platform/database/planted.ts', 1);
      expect(block).toContain('database → messaging → database');
      expect(block).toMatch(/src\/platform\/messaging\/\S+ imports src\/platform\/database\//);
    });

    it("fails on a module using a bus of @nestjs/cqrs to reach another module's handler, naming the file", async () => {
      const root = copyTree();
      write(
        root,
        'src/modules/orders/internal/planted.ts',
        [
          "import { Injectable } from '@nestjs/common';",
          "import { CommandBus } from '@nestjs/cqrs';",
          "import { ChargePaymentCommand } from '../../payments/index.js';",
          '',
          '@Injectable()',
          'export class Planted {',
          '  constructor(private readonly bus: CommandBus) {}',
          '  charge(command: ChargePaymentCommand): Promise<unknown> {',
          '    return this.bus.execute(command);',
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      const block = expectOnly(await verify(root), 'bus-access', 'src/modules/orders/internal/planted.ts', 2);
      expect(block).toContain('imports CommandBus from @nestjs/cqrs');
      expect(block).toContain("CommandHandler/QueryHandler from '../../../platform/index.js'");
    });

    it('fails on a platform file importing the face', async () => {
      const root = copyTree();
      write(root, 'src/platform/sagas/planted.ts', "import { ModuleError } from '../contracts/index.js';\nexport const planted = ModuleError;\n");
      expectOnly(await verify(root), 'platform-layering', 'src/platform/sagas/planted.ts', 1);
    });
  });

  describe('declared dependencies (module.json)', () => {
    it('fails on a dependency module.json does not declare', async () => {
      const root = copyTree();
      write(
        root,
        'src/modules/shipping/internal/planted.ts',
        "\n\nimport { SKU_PATTERN } from '../../inventory/index.js';\nexport const planted = SKU_PATTERN;\n",
      );
      const block = expectOnly(await verify(root), 'undeclared-dependency', 'src/modules/shipping/internal/planted.ts', 3);
      expect(block).toContain("uses module 'inventory'");
      expect(block).toContain('"dependsOn": { "inventory": "calls" }');
    });

    it('fails on a synchronous call of a module declared "events" only', async () => {
      const root = copyTree();
      manifest(root, 'shipping', { inventory: 'events' });
      write(
        root,
        'src/modules/shipping/internal/planted.ts',
        [
          "import { type Inventory, InjectInventory, SKU_PATTERN } from '../../inventory/index.js';",
          'export const planted = [InjectInventory, SKU_PATTERN];',
          'export type Planted = Inventory;',
          '',
        ].join('\n'),
      );
      const block = expectOnly(await verify(root), 'undeclared-dependency', 'src/modules/shipping/internal/planted.ts', 1);
      expect(block).toContain("calls module 'inventory' synchronously (imports Inventory, InjectInventory from its contract)");
    });

    it('accepts a module that uses only the events and types of one it declares "events"', async () => {
      const root = copyTree();
      manifest(root, 'shipping', { inventory: 'events' });
      write(root, 'src/modules/shipping/internal/planted.ts', "import { SKU_PATTERN } from '../../inventory/index.js';\nexport const planted = SKU_PATTERN;\n");
      expect((await verify(root)).status).toBe(0);
    });

    it('fails on a module.json declaring an unknown kind of dependency, or an unknown module', async () => {
      const root = copyTree();
      write(root, 'src/modules/shipping/module.json', '{ "dependsOn": { "inventory": "sometimes" } }\n');
      const kind = expectOnly(await verify(root), 'module-manifest', 'src/modules/shipping/module.json', 1);
      expect(kind).toContain('must be "calls" (synchronous request/reply) or "events"');
      manifest(root, 'shipping', { invntory: 'calls' });
      const unknown = expectOnly(await verify(root), 'module-manifest', 'src/modules/shipping/module.json', 3);
      expect(unknown).toContain("declares a dependency on 'invntory', which is no module");
    });
  });

  describe('data', () => {
    it("fails on an entity mapped to another module's schema, or to none", async () => {
      const root = copyTree();
      write(
        root,
        'src/modules/shipping/internal/planted.entity.ts',
        [
          "import { Entity as Table, PrimaryColumn } from 'typeorm';",
          '',
          "@Table({ schema: 'payments', name: 'payments' })",
          'export class StolenPayment {',
          "  @PrimaryColumn('uuid') id: string;",
          '}',
          '',
          "@Table('loose')",
          'export class Loose {',
          "  @PrimaryColumn('uuid') id: string;",
          '}',
          '',
        ].join('\n'),
      );
      const run = await verify(root);
      expect(run.status).toBe(1);
      expect(run.failing).toEqual([
        expect.stringMatching(/^\[entity-schema\] src\/modules\/shipping\/internal\/planted\.entity\.ts:3 — entity StolenPayment maps to schema payments/),
        expect.stringMatching(/^\[entity-schema\] src\/modules\/shipping\/internal\/planted\.entity\.ts:8 — entity Loose maps to no schema/),
      ]);
    });

    it("fails on raw SQL naming another module's schema, in code or in a migration; not on code or prose", async () => {
      const root = copyTree();
      write(
        root,
        'src/modules/shipping/internal/planted.ts',
        [
          'export async function planted(manager: { query(sql: string, args: unknown[]): Promise<unknown> }, payments: { chargePayment(): void }, id: string) {',
          '  payments.chargePayment(); // code, not SQL',
          "  const hint = 'ask payments.chargePayment first'; // prose, not SQL",
          '  return [hint, await manager.query(`',
          '    SELECT s.id',
          '      FROM shipping.shipments s',
          '      JOIN "payments"."payments" p ON p.order_id = s.order_id',
          '     WHERE s.id = ${id}`, [])];',
          '}',
          '',
        ].join('\n'),
      );
      write(
        root,
        'migrations/shipping/1799999999999-planted.ts',
        [
          "import type { MigrationInterface, QueryRunner } from 'typeorm';",
          'export class Planted1799999999999 implements MigrationInterface {',
          '  async up(runner: QueryRunner): Promise<void> {',
          "    await runner.query('CREATE VIEW shipping.orders_view AS SELECT * FROM orders.orders');",
          '  }',
          '  async down(): Promise<void> {}',
          '}',
          '',
        ].join('\n'),
      );
      const run = await verify(root);
      expect(run.status).toBe(1);
      expect(run.failing).toEqual([
        expect.stringMatching(/^\[foreign-schema-sql\] migrations\/shipping\/1799999999999-planted\.ts:4 — SQL names orders\.orders/),
        expect.stringMatching(/^\[foreign-schema-sql\] src\/modules\/shipping\/internal\/planted\.ts:7 — SQL names payments\.payments/),
      ]);
    });

    it("fails on a saga effect's statement naming another module's schema, though its parts read like no statement (ADR 35)", async () => {
      const root = copyTree();
      // Lower case, and a fragment: no statement keyword up front, no upper-case SQL in it.
      edit(root, 'src/modules/orders/internal/checkout-saga/cancellation-saga.ts', (text) =>
        text.replace("where: 'id = :key::uuid' },", "where: 'id = :key::uuid and exists (select 1 from payments.payments p where p.order_id = id)' },"),
      );
      edit(root, 'src/modules/orders/internal/checkout-saga/checkout-saga.ts', (text) => text.replace("table: 'orders',", "table: 'shipping.shipments',"));
      const run = await verify(root);
      expect(run.status).toBe(1);
      expect(run.failing).toEqual([
        expect.stringMatching(
          /^\[foreign-schema-sql\] src\/modules\/orders\/internal\/checkout-saga\/cancellation-saga\.ts:\d+ — SQL names payments\.payments/,
        ),
        expect.stringMatching(/^\[foreign-schema-sql\] src\/modules\/orders\/internal\/checkout-saga\/checkout-saga\.ts:\d+ — SQL names shipping\.shipments/),
      ]);
    });
  });

  describe('Nest modules', () => {
    it('fails when a Nest module of a module exports anything but its contract tokens', async () => {
      const root = copyTree();
      write(
        root,
        'src/modules/payments/internal/planted.module.ts',
        [
          "import { Module } from '@nestjs/common';",
          "import { PaymentsContract } from '../contract/payments.contract.js';",
          "import { GetPaymentHandler } from './get-payment/get-payment.handler.js';",
          '',
          '@Module({',
          '  providers: [GetPaymentHandler],',
          '  exports: [PaymentsContract.client, GetPaymentHandler],',
          '})',
          'export class PlantedModule {}',
          '',
        ].join('\n'),
      );
      const block = expectOnly(await verify(root), 'nest-exports', 'src/modules/payments/internal/planted.module.ts', 7);
      expect(block).toContain('Nest module PlantedModule exports GetPaymentHandler');
    });
  });

  describe('synchronous chains', () => {
    it('fails on a chain of calls longer than the limit, and takes --max-sync-depth', async () => {
      const root = copyTree();
      manifest(root, 'payments', { shipping: 'calls' });
      manifest(root, 'shipping', { inventory: 'calls' });
      const block = expectOnly(await verify(root), 'sync-chain-depth', 'src/modules/orders/module.json', 4);
      expect(block).toContain('orders → payments → shipping → inventory');
      expect((await verify(root, '--max-sync-depth', '3')).status).toBe(0);
      // Every two-hop chain, then: orders → payments → shipping, orders → shipping → inventory, payments → shipping → inventory.
      expect((await verify(root, '--max-sync-depth', '1')).failing.filter((line) => line.startsWith('[sync-chain-depth]'))).toHaveLength(3);
    });

    it('fails on a cycle of synchronous calls', async () => {
      const root = copyTree();
      manifest(root, 'inventory', { orders: 'calls' });
      const run = await verify(root);
      expect(run.status).toBe(1);
      const cycle = run.failing.filter((line) => line.startsWith('[sync-cycle]'));
      expect(cycle).toEqual([expect.stringMatching(/^\[sync-cycle\] src\/modules\/inventory\/module\.json:\d+ — .*inventory → orders → inventory/)]);
    });
  });

  describe('the baseline (verify-baseline.json)', () => {
    it('lists known violations without failing, fails on new ones, and on entries that went stale', async () => {
      const root = copyTree();
      const deepImport = "import { PaymentEntity } from '../../payments/internal/infrastructure/payment.entity.js';\nexport const planted = PaymentEntity;\n";
      write(root, 'src/modules/orders/internal/legacy.ts', deepImport);
      const update = await verify(root, '--update-baseline');
      expect(update.status).toBe(0);
      expect(update.stdout).toContain('wrote verify-baseline.json with 1 known violation');
      const baseline = JSON.parse(readFileSync(join(root, 'verify-baseline.json'), 'utf8'));
      expect(baseline.violations).toEqual([
        {
          rule: 'deep-import',
          file: 'src/modules/orders/internal/legacy.ts',
          touches: 'src/modules/payments/internal/infrastructure/payment.entity.ts',
        },
      ]);

      // Known: reported as such, not failing — even when its line moves.
      write(root, 'src/modules/orders/internal/legacy.ts', `// moved down a line\n${deepImport}`);
      const known = await verify(root);
      expect(known.status).toBe(0);
      expect(known.failing).toEqual([]);
      expect(known.known).toEqual([expect.stringMatching(/^\[deep-import\] src\/modules\/orders\/internal\/legacy\.ts:2 — /)]);

      // The entry silences exactly that violation: the same import from another file fails.
      write(root, 'src/modules/orders/internal/new.ts', deepImport);
      const fresh = await verify(root);
      expectOnly(fresh, 'deep-import', 'src/modules/orders/internal/new.ts', 1);
      expect(fresh.known).toHaveLength(1);
      rmSync(join(root, 'src/modules/orders/internal/new.ts'));

      // Fixed: the entry is stale and must go.
      rmSync(join(root, 'src/modules/orders/internal/legacy.ts'));
      const stale = expectOnly(await verify(root), 'stale-baseline', 'verify-baseline.json', 4);
      expect(stale).toContain('[deep-import] src/modules/orders/internal/legacy.ts');
      expect(stale).toContain('remove this entry');

      expect((await verify(root, '--update-baseline')).status).toBe(0);
      expect(JSON.parse(readFileSync(join(root, 'verify-baseline.json'), 'utf8')).violations).toEqual([]);
      expect((await verify(root)).status).toBe(0);
    });
  });

  describe('usage', () => {
    it('exits 2 with one line on bad usage', async () => {
      for (const args of [['--bogus'], ['--max-sync-depth', 'two'], ['--root']]) {
        const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
        expect({ args, status: run.status, lines: run.stderr.trim().split('\n').length }).toEqual({ args, status: 2, lines: 1 });
        expect(run.stderr).toMatch(/^verify: /);
      }
      const empty = mkdtempSync(join(tmpdir(), 'verify-empty-'));
      copies.push(empty);
      const run = await verify(empty);
      expect(run.status).toBe(2);
      expect(run.stderr.trim()).toBe(`verify: no src/modules/ under ${empty}: --root must be the repository root`);
    });
  });
});

describe('npm run docs:architecture', () => {
  function docs(root: string): Map<string, string> {
    const out = mkdtempSync(join(tmpdir(), 'architecture-'));
    copies.push(out);
    const run = spawnSync(process.execPath, [DOCS_CLI, '--root', root, '--out', out], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const files = ['README.md', ...['inventory', 'notifications', 'orders', 'payments', 'shipping', 'audit', 'ledger'].map((m) => `${m}.md`)];
    return new Map(files.filter((file) => existsSync(join(out, file))).map((file) => [file, readFileSync(join(out, file), 'utf8')]));
  }

  it("draws the store's synchronous calls solid, and documents each module from its contract and migrations", async () => {
    const files = docs(join(REPO, 'dist'));
    expect([...files.keys()]).toEqual(['README.md', 'inventory.md', 'notifications.md', 'orders.md', 'payments.md', 'shipping.md']);
    const readme = files.get('README.md')!;
    expect(readme).toContain('```mermaid\nflowchart LR');
    for (const callee of ['inventory', 'payments', 'shipping']) expect(readme).toContain(`  orders -->|calls| ${callee}\n`);
    // Notifications listens to orders, and calls nothing.
    expect(readme).toContain('  orders -.->|OrderCancelled, OrderConfirmed, ReviewRequested| notifications\n');
    // Orders' delivery workflow: started by its own confirmations, its wait ended by Shipping's carrier events.
    expect(readme).toContain('  orders -.->|OrderConfirmed| orders\n');
    expect(readme).toContain('  shipping -.->|ShipmentDelivered, ShipmentReturned| orders\n');
    expect(readme).not.toMatch(/notifications -->/);
    const orders = files.get('orders.md')!;
    expect(orders).toMatch(
      /## Commands\n\n\| operation .*\n.*\n\| `cancelOrder` \| `CancelOrderCommand` \| yes \|\n\| `placeOrder` \| `PlaceOrderCommand` \| no \|/,
    );
    expect(orders).toContain('| `getOrder` | `GetOrderQuery` |');
    expect(orders).toContain('| `orders.OrderPlaced` | 1 | `orderId` | — |');
    expect(orders).toContain('### `orders.order_lines`');
    expect(orders).toContain('| `line_no` | `integer` | PK, NOT NULL |');
  });

  it('draws event flows dashed, from the subscriptions of the module definitions', async () => {
    const files = docs(join(REPO, 'dist/test/fixtures/messaging'));
    expect(files.get('README.md')).toContain('  ledger -.->|EntryRecorded| audit\n');
    expect(files.get('audit.md')).toContain('| `ledger.EntryRecorded` | [ledger](ledger.md) | `audit.on-entry-recorded` | `OnEntryRecorded` |');
    expect(files.get('ledger.md')).toContain('| `ledger.EntryRecorded` | 1 | `accountId` | [audit](audit.md) |');
  });
});
