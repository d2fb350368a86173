import type { ModuleNames } from './module-name.js';
import type { GeneratedFile } from './module-templates.js';

/**
 * `--workflow`: the module's items each go through a workflow (a saga of the
 * platform's engine, ADR 14, 29) started by the statement that creates the
 * item. Its effect says, in the module's own terms (its table, its names),
 * what a transition does to the item's row; the platform composes it into the
 * statement that records the transition (ADR 35). These files are added, and
 * replace the plain module's where they differ (same paths).
 */
export function workflowFiles(names: ModuleNames, migrationTimestamp: number): GeneratedFile[] {
  const { name, pascal, kebab, title } = names;
  const dir = `src/modules/${name}`;
  const face = (depth: number, file = 'index.js') => `${'../'.repeat(depth)}platform/${file}`;
  return [
    {
      path: `${dir}/internal/item-workflow/item-workflow.ts`,
      text: `import type { DataSource } from 'typeorm';
import { defineSaga, queryPrepared, type SagaDefinition } from '${face(4)}';

/** What the workflow's steps need of an item: read once per batch of items a runner takes. */
export interface WorkflowItem {
  readonly itemId: string;
  readonly name: string;
}

/**
 * An item's workflow, run durably by the platform (docs/workflows.md): its
 * steps in order, each a call (to another module's contract, say: take its
 * client as a parameter) with an \`undo\` if it can be undone; a refusal undoes
 * the steps before it, in reverse. Its \`effect\` says what a transition does
 * to the module's own data, in its own terms: an update of its table with
 * names it chooses (\`:status\`) and \`:key\`, the item's id; the platform
 * writes it in the statement that records the transition, only if it applies.
 * Change the steps? Bump \`version\` and keep the old definition in the runner
 * until its instances end (\`npm run verify\` tells).
 */
export function itemWorkflow(db: DataSource): SagaDefinition<WorkflowItem> {
  return defineSaga<WorkflowItem>({
    name: 'item-workflow',
    version: 1,
    stepTimeoutMs: 5_000,
    retry: { initialDelayMs: 50, maxDelayMs: 5_000 },
    stuckAfterAttempts: 10,
    load: async (itemIds) => {
      const rows = await queryPrepared<{ id: string; name: string }>(db, '${name}.workflow-items', 'SELECT id, name FROM ${name}.items WHERE id = ANY($1::uuid[])', [itemIds]);
      return new Map(rows.map((row) => [row.id, { itemId: row.id, name: row.name }]));
    },
    steps: [
      // Replace with the workflow's calls. Idempotent by the item's id: recorded with the next step (one statement fewer).
      { name: 'CHECK_ITEM', idempotent: true, run: async (item) => ({ output: { checkedName: item.name } }) },
      // A durable wait: the item's row waits, no process does. For another module's events: \`waitFor\` (ADR 29).
      { name: 'SETTLE', sleepMs: 10 },
      { name: 'COMPLETE_ITEM', run: async () => {} },
    ],
    effect: {
      when: (transition) => transition.outcome !== undefined,
      update: { table: 'items', set: 'status = :status, updated_at = now()', where: 'id = :key::uuid' },
      params: (transition) => ({ status: transition.outcome?.status === 'COMPLETED' ? 'DONE' : 'FAILED' }),
    },
  });
}
`,
    },
    {
      path: `${dir}/internal/item-workflow/item-workflow.providers.ts`,
      text: `import type { Provider } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { Metrics, MODULE_DATA_SOURCE, SagaRunner, TransactionRunner } from '${face(4)}';
import { itemWorkflow, type WorkflowItem } from './item-workflow.js';

/** The runner of ${title}'s item workflow: any number of processes may run it against one database. */
export const ITEM_WORKFLOW = Symbol('ITEM_WORKFLOW');
export type ItemWorkflowRunner = SagaRunner<WorkflowItem>;

export const ITEM_WORKFLOW_PROVIDERS: Provider[] = [
  {
    provide: ITEM_WORKFLOW,
    inject: [MODULE_DATA_SOURCE, TransactionRunner, Metrics],
    useFactory: (db: DataSource, transactions: TransactionRunner, metrics: Metrics) =>
      new SagaRunner(itemWorkflow(db), { leaseMs: 30_000, concurrency: 16, pollIntervalMs: 1_000 }, db, transactions, metrics),
  },
];
`,
    },
    {
      path: `migrations/${name}/${migrationTimestamp + 1}-add-item-status.ts`,
      text: `import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Where an item's workflow stands, as its effect writes it. */
export class Add${pascal}ItemStatus${migrationTimestamp + 1} implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(\`
      ALTER TABLE ${name}.items
        ADD COLUMN status     text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'FAILED')),
        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()\`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE ${name}.items DROP COLUMN status, DROP COLUMN updated_at');
  }
}
`,
    },
    {
      path: `${dir}/contract/item.view.ts`,
      text: `/** An item as callers see it: plain JSON data, the same in process and on the wire. */
export interface ${pascal}ItemView {
  readonly itemId: string;
  readonly name: string;
  /** Where its workflow stands: PENDING until it ends. */
  readonly status: 'PENDING' | 'DONE' | 'FAILED';
  /** ISO-8601. */
  readonly createdAt: string;
}
`,
    },
    {
      path: `${dir}/internal/item-row.ts`,
      text: `import type { ${pascal}ItemView } from '../contract/item.view.js';

export interface ItemRow {
  readonly id: string;
  readonly name: string;
  readonly status: ${pascal}ItemView['status'];
  readonly created_at: Date;
}

export const ITEM_COLUMNS = 'id, name, status, created_at';

export function rowToItemView(row: ItemRow): ${pascal}ItemView {
  return { itemId: row.id, name: row.name, status: row.status, createdAt: row.created_at.toISOString() };
}
`,
    },
    {
      path: `${dir}/internal/${kebab}-core.module.ts`,
      text: `import { Module } from '@nestjs/common';
import { CreateItemHandler } from './create-item/create-item.handler.js';
import { GetItemHandler } from './get-item/get-item.handler.js';
import { ITEM_WORKFLOW_PROVIDERS } from './item-workflow/item-workflow.providers.js';

/**
 * Hosts ${title}'s implementation: one handler per operation of its contract
 * (the platform checks at start that none is missing) and the runner of its
 * item workflow. The platform supplies MODULE_DATA_SOURCE, TransactionRunner,
 * Metrics and ModuleSettings to its providers.
 */
@Module({ providers: [CreateItemHandler, GetItemHandler, ...ITEM_WORKFLOW_PROVIDERS] })
export class ${pascal}CoreModule {}
`,
    },
    {
      path: `${dir}/internal/create-item/create-item.handler.ts`,
      text: `import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler, type ICommandHandler, TransactionRunner } from '${face(4)}';
import { Create${pascal}ItemCommand } from '../../contract/create-item.command.js';
import type { ${pascal}ItemView } from '../../contract/item.view.js';
import { ITEM_COLUMNS, type ItemRow, rowToItemView } from '../item-row.js';
import { ITEM_WORKFLOW, type ItemWorkflowRunner } from '../item-workflow/item-workflow.providers.js';

/**
 * The createItem use case: the item and the start of its workflow in one
 * statement (both or neither), as the module's own database role; then the
 * runner is woken to run it at once.
 */
@Injectable()
@CommandHandler(Create${pascal}ItemCommand)
export class CreateItemHandler implements ICommandHandler<Create${pascal}ItemCommand, ${pascal}ItemView> {
  constructor(
    private readonly transactions: TransactionRunner,
    @Inject(ITEM_WORKFLOW) private readonly workflow: ItemWorkflowRunner,
  ) {}

  async execute(command: Create${pascal}ItemCommand): Promise<${pascal}ItemView> {
    const started = this.workflow.store.startSql({ key: 'created.id::text', leaseMs: 'NULL::int', traceContext: \`'{}'::jsonb\`, deadlineMs: 'NULL::int' }, 'FROM created');
    const view = await this.transactions.run(async ({ manager }) => {
      const [row]: ItemRow[] = await manager.query(
        \`WITH created AS (INSERT INTO ${name}.items (name) VALUES ($1) RETURNING \${ITEM_COLUMNS}), \${started} SELECT * FROM created\`,
        [command.name],
      );
      return rowToItemView(row);
    });
    this.workflow.wake();
    return view;
  }
}
`,
    },
    {
      path: `test/e2e/${kebab}.e2e.spec.ts`,
      text: `import { describeEachTopology } from '../support/needs-nats.js';
import { eventually } from '../support/eventually.js';
import { http } from '../support/test-store.js';
import { startTopology, type TestTopology } from '../support/test-topology.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** ${title} over real HTTP, in one process and with the module in a process of its own (over NATS). */
describeEachTopology(['monolith', '${name}-extracted', 'microservices'], '${title} over HTTP in the %s topology', (topology) => {
  let store: TestTopology;

  beforeAll(async () => {
    store = await startTopology(topology);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('creates an item (201), answers it by id (200), and its workflow ends it DONE', async () => {
    const created = await http(store, 'POST', '/${kebab}/items', { name: 'first' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ itemId: expect.stringMatching(UUID), name: 'first', status: 'PENDING', createdAt: expect.any(String) });
    await eventually(async () => {
      const fetched = await http(store, 'GET', \`/${kebab}/items/\${created.body.itemId}\`);
      expect(fetched.status).toBe(200);
      expect(fetched.body).toEqual({ ...created.body, status: 'DONE' });
    }, 20_000);
  });

  it('answers 404 for an unknown id and 400 for invalid input, as problem+json', async () => {
    const unknown = await http(store, 'GET', '/${kebab}/items/00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\\/problem\\+json/);
    expect((await http(store, 'GET', '/${kebab}/items/not-an-id')).status).toBe(400);
    const invalid = await http(store, 'POST', '/${kebab}/items', { name: '' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors).toEqual([expect.objectContaining({ field: 'name' })]);
  });
});
`,
    },
  ];
}

/** What the module's README says of its workflow. */
function workflowReadme(names: ModuleNames): string {
  return `
## Workflow

Each item goes through \`item-workflow\` (\`internal/item-workflow/\`), started by the statement that
creates it: CHECK_ITEM, a durable SETTLE wait, COMPLETE_ITEM; its end sets the item's \`status\` to DONE
(or FAILED if it compensates). Its effect is an update of \`${names.name}.items\` in the module's own terms
(\`:status\`, \`:key\`), which the platform writes in the statement that records each transition.
See docs/workflows.md for steps, undos, waits, signals and versions; \`npm run sagas -- list\` shows
where every instance stands.
`;
}

/** The plain module's files, with the workflow's added and replacing theirs where they share a path. */
export function withWorkflow(names: ModuleNames, files: readonly GeneratedFile[], workflow: readonly GeneratedFile[]): GeneratedFile[] {
  const replaced = new Map(workflow.map((file) => [file.path, file]));
  const paths = new Set(files.map((file) => file.path));
  const readme = `src/modules/${names.name}/README.md`;
  return [
    ...files.map((file) => replaced.get(file.path) ?? (file.path === readme ? { path: file.path, text: file.text + workflowReadme(names) } : file)),
    ...workflow.filter((file) => !paths.has(file.path)),
  ];
}
