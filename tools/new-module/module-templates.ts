import type { ModuleNames } from './module-name.js';

/** One file of a new module: its path from the repository root, and its text. */
export interface GeneratedFile {
  readonly path: string;
  readonly text: string;
}

/**
 * The files of a new module: a contract with one command and one query,
 * their @CommandHandler/@QueryHandler, HTTP routes, a migration, module.json,
 * a README page and an end-to-end test over HTTP in every topology. Written
 * against the platform's public face only, so it passes `npm run verify` as
 * generated; each file says what to change to make it the module's own.
 */
export function moduleFiles(names: ModuleNames, migrationTimestamp: number): GeneratedFile[] {
  const { name, pascal, kebab, title } = names;
  const dir = `src/modules/${name}`;
  const face = (depth: number, file = 'index.js') => `${'../'.repeat(depth)}platform/${file}`;
  return [
    {
      path: `${dir}/module.json`,
      text: `${JSON.stringify({ dependsOn: {} }, null, 2)}\n`,
    },
    {
      path: `${dir}/${name}.module.ts`,
      text: `import { defineModule } from '${face(2)}';
import { ${pascal}Contract } from './contract/${kebab}.contract.js';
import { ${pascal}CoreModule } from './internal/${kebab}-core.module.js';
import { ${pascal}HttpModule } from './internal/http/${kebab}-http.module.js';

/** ${title}'s composition root: the platform discovers it by its folder and loads it; nothing else imports it. */
export default defineModule({
  name: '${name}',
  contract: ${pascal}Contract,
  core: ${pascal}CoreModule,
  http: ${pascal}HttpModule,
  entities: [],
});
`,
    },
    {
      path: `${dir}/index.ts`,
      text: `/**
 * ${title}'s public face: the only file of this module other modules may
 * import (declare them in their module.json). Everything under \`internal/\`
 * is private to the module.
 */
export { ${pascal}Contract, type ${pascal}, Inject${pascal} } from './contract/${kebab}.contract.js';
export { Create${pascal}ItemCommand } from './contract/create-item.command.js';
export { Get${pascal}ItemQuery } from './contract/get-item.query.js';
export type { ${pascal}ItemView } from './contract/item.view.js';
`,
    },
    {
      path: `${dir}/contract/${kebab}.contract.ts`,
      text: `import { Inject } from '@nestjs/common';
import { command, type ContractClient, defineContract, query } from '${face(3, 'contracts/index.js')}';
import { Create${pascal}ItemCommand } from './create-item.command.js';
import { Get${pascal}ItemQuery } from './get-item.query.js';
import type { ${pascal}ItemView } from './item.view.js';

/**
 * What other modules and the gateway may ask of ${title}, wherever it runs.
 * Each operation takes a class of its own; the platform validates it on
 * receipt and dispatches it to that class's @CommandHandler/@QueryHandler.
 */
export const ${pascal}Contract = defineContract('${name}', {
  createItem: command<Create${pascal}ItemCommand, ${pascal}ItemView>(Create${pascal}ItemCommand),
  getItem: query<Get${pascal}ItemQuery, ${pascal}ItemView>(Get${pascal}ItemQuery),
});

/** What callers hold to talk to ${title}: local or remote, they cannot tell. */
export type ${pascal} = ContractClient<typeof ${pascal}Contract>;

/** Parameter decorator: \`constructor(@Inject${pascal}() ${camel(pascal)}: ${pascal})\`. */
export const Inject${pascal} = (): ParameterDecorator => Inject(${pascal}Contract.client);
`,
    },
    {
      path: `${dir}/contract/create-item.command.ts`,
      text: `import { IsString, Length } from 'class-validator';

/** Creates one item. The decorators are the contract: validated on receipt, documented in OpenAPI. */
export class Create${pascal}ItemCommand {
  @IsString()
  @Length(1, 200)
  readonly name: string;
}
`,
    },
    {
      path: `${dir}/contract/get-item.query.ts`,
      text: `import { IsUUID } from 'class-validator';

/** One item by id; an unknown id is NOT_FOUND (404 over HTTP). */
export class Get${pascal}ItemQuery {
  @IsUUID()
  readonly itemId: string;
}
`,
    },
    {
      path: `${dir}/contract/item.view.ts`,
      text: `/** An item as callers see it: plain JSON data, the same in process and on the wire. */
export interface ${pascal}ItemView {
  readonly itemId: string;
  readonly name: string;
  /** ISO-8601. */
  readonly createdAt: string;
}
`,
    },
    {
      path: `${dir}/internal/${kebab}-core.module.ts`,
      text: `import { Module } from '@nestjs/common';
import { CreateItemHandler } from './create-item/create-item.handler.js';
import { GetItemHandler } from './get-item/get-item.handler.js';

/**
 * Hosts ${title}'s implementation: one handler per operation of its contract
 * (the platform checks at start that none is missing). The platform supplies
 * MODULE_DATA_SOURCE, TransactionRunner and ModuleSettings to its providers.
 */
@Module({ providers: [CreateItemHandler, GetItemHandler] })
export class ${pascal}CoreModule {}
`,
    },
    {
      path: `${dir}/internal/item-row.ts`,
      text: `import type { ${pascal}ItemView } from '../contract/item.view.js';

export interface ItemRow {
  readonly id: string;
  readonly name: string;
  readonly created_at: Date;
}

export const ITEM_COLUMNS = 'id, name, created_at';

export function rowToItemView(row: ItemRow): ${pascal}ItemView {
  return { itemId: row.id, name: row.name, createdAt: row.created_at.toISOString() };
}
`,
    },
    {
      path: `${dir}/internal/create-item/create-item.handler.ts`,
      text: `import { Injectable } from '@nestjs/common';
import { CommandHandler, type ICommandHandler, TransactionRunner } from '${face(4)}';
import { Create${pascal}ItemCommand } from '../../contract/create-item.command.js';
import type { ${pascal}ItemView } from '../../contract/item.view.js';
import { ITEM_COLUMNS, type ItemRow, rowToItemView } from '../item-row.js';

/**
 * The createItem use case. It runs in one of the module's transactions, as
 * its own database role: an event published with \`tx.publish\` commits with it.
 */
@Injectable()
@CommandHandler(Create${pascal}ItemCommand)
export class CreateItemHandler implements ICommandHandler<Create${pascal}ItemCommand, ${pascal}ItemView> {
  constructor(private readonly transactions: TransactionRunner) {}

  execute(command: Create${pascal}ItemCommand): Promise<${pascal}ItemView> {
    return this.transactions.run(async ({ manager }) => {
      const [row]: ItemRow[] = await manager.query(\`INSERT INTO ${name}.items (name) VALUES ($1) RETURNING \${ITEM_COLUMNS}\`, [command.name]);
      return rowToItemView(row);
    });
  }
}
`,
    },
    {
      path: `${dir}/internal/get-item/get-item.handler.ts`,
      text: `import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { type IQueryHandler, MODULE_DATA_SOURCE, ModuleError, QueryHandler } from '${face(4)}';
import { Get${pascal}ItemQuery } from '../../contract/get-item.query.js';
import type { ${pascal}ItemView } from '../../contract/item.view.js';
import { ITEM_COLUMNS, type ItemRow, rowToItemView } from '../item-row.js';

/** The getItem use case: a read on the module's own DataSource. */
@Injectable()
@QueryHandler(Get${pascal}ItemQuery)
export class GetItemHandler implements IQueryHandler<Get${pascal}ItemQuery, ${pascal}ItemView> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(query: Get${pascal}ItemQuery): Promise<${pascal}ItemView> {
    const [row]: ItemRow[] = await this.db.query(\`SELECT \${ITEM_COLUMNS} FROM ${name}.items WHERE id = $1\`, [query.itemId]);
    if (!row) throw new ModuleError('NOT_FOUND', \`item '\${query.itemId}' not found\`, '${name}');
    return rowToItemView(row);
  }
}
`,
    },
    {
      path: `${dir}/internal/http/${kebab}-http.module.ts`,
      text: `import { Module } from '@nestjs/common';
import { ${pascal}Controller } from './${kebab}.controller.js';

/** ${title}'s HTTP routes, served by every gateway process (wherever the module itself runs). */
@Module({ controllers: [${pascal}Controller] })
export class ${pascal}HttpModule {}
`,
    },
    {
      path: `${dir}/internal/http/${kebab}.controller.ts`,
      text: `import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiProblem } from '${face(4)}';
import { Create${pascal}ItemCommand } from '../../contract/create-item.command.js';
import type { ${pascal}ItemView } from '../../contract/item.view.js';
import { type ${pascal}, Inject${pascal} } from '../../contract/${kebab}.contract.js';

/** ${title}'s public HTTP routes. A gateway may run without the module, so they only speak to its contract. */
@Controller('${kebab}/items')
export class ${pascal}Controller {
  constructor(@Inject${pascal}() private readonly ${camel(pascal)}: ${pascal}) {}

  @Post()
  @HttpCode(201)
  create(@Body() body: Create${pascal}ItemCommand): Promise<${pascal}ItemView> {
    return this.${camel(pascal)}.createItem(body);
  }

  @Get(':itemId')
  @ApiProblem(404, 'No item has that id.')
  get(@Param('itemId') itemId: string): Promise<${pascal}ItemView> {
    return this.${camel(pascal)}.getItem({ itemId });
  }
}
`,
    },
    {
      path: `migrations/${name}/${migrationTimestamp}-create-items.ts`,
      text: `import type { MigrationInterface, QueryRunner } from 'typeorm';

/** ${title}'s first table, in its own schema (the platform creates the schema and the module's role). */
export class Create${pascal}Items${migrationTimestamp} implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(\`
      CREATE TABLE ${name}.items (
        id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        name       text        NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )\`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE ${name}.items');
  }
}
`,
    },
    {
      path: `${dir}/README.md`,
      text: `# ${title}

What this module owns, in one sentence: _(say it here)_.

Generated by \`npm run new:module -- ${name}\`; see [docs/platform.md](../../../docs/platform.md) for what
the platform does for it.

## Contract (\`contract/\`, re-exported by \`index.ts\`)

| operation | kind | input | result |
| --- | --- | --- | --- |
| \`createItem\` | command | \`Create${pascal}ItemCommand\` | \`${pascal}ItemView\` |
| \`getItem\` | query | \`Get${pascal}ItemQuery\` | \`${pascal}ItemView\` (\`NOT_FOUND\` for an unknown id) |

Events: none yet. Declare one with \`@IntegrationEvent\` in \`contract/\`, publish it with \`tx.publish\`
inside a \`TransactionRunner.run\`.

## HTTP

- \`POST /${kebab}/items\` \`{ "name": "..." }\` → 201, the item
- \`GET /${kebab}/items/:itemId\` → 200, the item; 404 problem+json for an unknown id; 400 for an id that is not a UUID

## Data

Schema \`${name}\`, reached only by the module's own role: table \`items\` (migrations/${name}/).

## Dependencies

\`module.json\` declares none. To call another module: \`"dependsOn": { "<module>": "calls" }\`, then inject its
client (\`@InjectInventory() inventory: Inventory\`) from its index.ts. For its events only: \`"events"\`.

## Tests

\`test/e2e/${kebab}.e2e.spec.ts\`: the routes over real HTTP, in the monolith, with this module extracted, and as
microservices.
`,
    },
    {
      path: `test/e2e/${kebab}.e2e.spec.ts`,
      text: `import { describeEachTopology } from '../support/needs-nats.js';
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

  it('creates an item (201) and answers it by id (200)', async () => {
    const created = await http(store, 'POST', '/${kebab}/items', { name: 'first' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ itemId: expect.stringMatching(UUID), name: 'first', createdAt: expect.any(String) });
    const fetched = await http(store, 'GET', \`/${kebab}/items/\${created.body.itemId}\`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(created.body);
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

function camel(pascal: string): string {
  return pascal[0].toLowerCase() + pascal.slice(1);
}
