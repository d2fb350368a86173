import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandHandler, CqrsModule, type ICommandHandler, type IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { IsInt, IsString } from 'class-validator';
import { command, defineContract, query } from '../contracts/contract.js';
import { ModuleError } from '../contracts/module.error.js';
import { defineModule } from '../modules/module-definition.js';
import { createLocalClient } from './local-client.js';
import { dispatchTo, findOperationHandlers } from './operation-handlers.js';

class AddCommand {
  @IsInt()
  readonly amount: number;
}

class TotalQuery {
  @IsString()
  readonly account: string;
}

const Counter = defineContract('counter', {
  add: command<AddCommand, { total: number }>(AddCommand),
  total: query<TotalQuery, { total: number }>(TotalQuery),
});

@Injectable()
class Totals {
  total = 0;
}

@Injectable()
@CommandHandler(AddCommand)
class AddHandler implements ICommandHandler<AddCommand, { total: number }> {
  constructor(private readonly totals: Totals) {}
  async execute(input: AddCommand): Promise<{ total: number }> {
    if (input.amount === 13) throw new ModuleError('UNPROCESSABLE', 'unlucky', 'counter');
    this.totals.total += input.amount;
    return { total: this.totals.total };
  }
}

@Injectable()
@QueryHandler(TotalQuery)
class TotalHandler implements IQueryHandler<TotalQuery, { total: number }> {
  constructor(private readonly totals: Totals) {}
  async execute(): Promise<{ total: number }> {
    return { total: this.totals.total };
  }
}

@Module({ providers: [Totals, AddHandler, TotalHandler] })
class CounterCore {}

const definition = (core: Function) => defineModule({ name: 'counter', contract: Counter, core: core as never, entities: [] });

describe('contract dispatch on @nestjs/cqrs', () => {
  it("sends each operation to its input class's handler through the local adapter, errors as data", async () => {
    const app = await NestFactory.createApplicationContext(CounterCore, { logger: false });
    await app.init();
    try {
      const client = createLocalClient(Counter, dispatchTo(findOperationHandlers(definition(CounterCore)), app));
      expect(await client.add({ amount: 2 })).toEqual({ total: 2 });
      expect(await client.add({ amount: 3 })).toEqual({ total: 5 });
      expect(await client.total({ account: 'a' })).toEqual({ total: 5 });
      await expect(client.add({ amount: 13 })).rejects.toMatchObject({ code: 'UNPROCESSABLE', message: 'unlucky' });
      // Validated before dispatch: an invalid input never reaches the handler.
      await expect(client.add({ amount: 'x' as never })).rejects.toMatchObject({ code: 'INVALID' });
      expect(await client.total({ account: 'a' })).toEqual({ total: 5 });
    } finally {
      await app.close();
    }
  });

  it("picks the handler @nestjs/cqrs's own bus would run", async () => {
    const handlers = findOperationHandlers(definition(CounterCore));
    expect([...handlers]).toEqual([
      ['add', AddHandler],
      ['total', TotalHandler],
    ]);
    const app = await NestFactory.createApplicationContext({ module: CounterCore, imports: [CqrsModule.forRoot()] }, { logger: false });
    await app.init();
    try {
      const total = Object.assign(new TotalQuery(), { account: 'a' });
      app.get(Totals).total = 7;
      expect(await app.get(QueryBus).execute(total)).toEqual(await dispatchTo(handlers, app)().total(total));
    } finally {
      await app.close();
    }
  });

  it('refuses, before start, a module whose operation has no handler, two, or one of the wrong kind', () => {
    @Module({ providers: [Totals, AddHandler] })
    class Missing {}
    expect(() => findOperationHandlers(definition(Missing))).toThrow(
      "module 'counter': operation 'total' has no @QueryHandler(TotalQuery) among the providers of Missing",
    );

    @Injectable()
    @QueryHandler(TotalQuery)
    class OtherTotal {
      async execute(): Promise<number> {
        return 0;
      }
    }
    @Module({ providers: [AddHandler, TotalHandler, OtherTotal] })
    class Twice {}
    expect(() => findOperationHandlers(definition(Twice))).toThrow("operation 'total' has 2 handlers (TotalHandler, OtherTotal): keep one");

    @Injectable()
    @QueryHandler(AddCommand)
    class AddAsQuery {
      async execute(): Promise<number> {
        return 0;
      }
    }
    @Module({ providers: [AddAsQuery, TotalHandler] })
    class WrongKind {}
    expect(() => findOperationHandlers(definition(WrongKind))).toThrow(
      "operation 'add' is a command, so AddAsQuery must be a @CommandHandler(AddCommand), not a @QueryHandler",
    );
  });

  it('finds handlers in the Nest modules the core imports', () => {
    @Module({ providers: [Totals, TotalHandler], exports: [Totals] })
    class Reading {}
    @Module({ imports: [Reading], providers: [{ provide: AddHandler, useClass: AddHandler }] })
    class Composed {}
    expect(() => findOperationHandlers(definition(Composed))).not.toThrow();
  });

  it('refuses a contract whose two operations take one input class', () => {
    expect(() => defineContract('twice', { a: query<TotalQuery, number>(TotalQuery), b: query<TotalQuery, number>(TotalQuery) })).toThrow(
      "twice contract: operations 'a' and 'b' both take TotalQuery: give each operation an input class of its own",
    );
  });
});
