import type { Type } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants.js';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { Contract } from '../contracts/contract.js';
import type { ModuleDefinition } from '../modules/module-definition.js';

/** Nest's metadata keys of @CommandHandler/@QueryHandler (@nestjs/cqrs, decorators/constants): the class each one handles. */
const COMMAND_HANDLER_METADATA = '__commandHandler__';
const QUERY_HANDLER_METADATA = '__queryHandler__';

/** The hosting side of a contract, as the local adapter calls it: each operation as a function of its validated input. */
export type OperationHandlers = Readonly<Record<string, (input: object) => Promise<unknown>>>;

/** Anything that finds a provider across modules: Nest's ModuleRef, or the application. */
export interface ProviderLookup {
  get<T>(token: Type<T> | symbol, options: { strict: false }): T;
}

/**
 * Every provider class of a Nest module and of the modules it imports: where
 * a module's use cases live.
 */
function providerClasses(module: Type<unknown>, seen = new Set<unknown>()): Function[] {
  if (seen.has(module)) return [];
  seen.add(module);
  const providers = (Reflect.getMetadata(MODULE_METADATA.PROVIDERS, module) ?? []) as unknown[];
  const imports = (Reflect.getMetadata(MODULE_METADATA.IMPORTS, module) ?? []) as unknown[];
  return [
    ...providers.flatMap((provider) => {
      if (typeof provider === 'function') return [provider];
      const useClass = (provider as { useClass?: unknown })?.useClass;
      return typeof useClass === 'function' ? [useClass] : [];
    }),
    ...imports.flatMap((imported) => (typeof imported === 'function' ? providerClasses(imported as Type<unknown>, seen) : [])),
  ];
}

/**
 * Checks, before the module starts, that each operation of its contract has
 * exactly one handler among its providers, of its kind: a command one
 * @CommandHandler of its input class, a query one @QueryHandler. A gap would
 * otherwise surface as the first caller's INTERNAL error.
 */
export function checkOperationHandlers(definition: ModuleDefinition): void {
  const found = new Map<Function, Array<{ kind: 'command' | 'query'; handler: string }>>();
  for (const provider of providerClasses(definition.core)) {
    for (const [kind, key] of [['command', COMMAND_HANDLER_METADATA], ['query', QUERY_HANDLER_METADATA]] as const) {
      const handled = Reflect.getMetadata(key, provider) as Function | undefined;
      if (handled) found.set(handled, [...(found.get(handled) ?? []), { kind, handler: provider.name }]);
    }
  }
  const problems: string[] = [];
  for (const [operation, spec] of Object.entries(definition.contract.operations)) {
    const decorator = spec.kind === 'command' ? 'CommandHandler' : 'QueryHandler';
    const handlers = found.get(spec.input) ?? [];
    const wanted = `@${decorator}(${spec.input.name})`;
    if (handlers.length === 0) problems.push(`operation '${operation}' has no ${wanted} among the providers of ${definition.core.name}`);
    else if (handlers.length > 1) problems.push(`operation '${operation}' has ${handlers.length} handlers (${handlers.map((h) => h.handler).join(', ')}): keep one`);
    else if (handlers[0].kind !== spec.kind) {
      problems.push(`operation '${operation}' is a ${spec.kind}, so ${handlers[0].handler} must be a ${wanted}, not a @${spec.kind === 'command' ? 'QueryHandler' : 'CommandHandler'}`);
    }
  }
  if (problems.length > 0) throw new Error(`module '${definition.name}': ${problems.join('; ')}`);
}

/**
 * The hosting module's side of its contract: each operation sent on the bus
 * of its kind (@nestjs/cqrs's CommandBus or QueryBus) to the handler of its
 * input class. The buses are looked up on first call; they are the
 * platform's, never a module's (verify: bus-access).
 */
export function busHandlers(contract: Contract, providers: ProviderLookup): () => OperationHandlers {
  let handlers: OperationHandlers | undefined;
  return () => {
    if (handlers) return handlers;
    const commands = providers.get(CommandBus, { strict: false });
    const queries = providers.get(QueryBus, { strict: false });
    const bound: Record<string, (input: object) => Promise<unknown>> = {};
    for (const [operation, spec] of Object.entries(contract.operations)) {
      bound[operation] = spec.kind === 'command' ? (input) => commands.execute(input) : (input) => queries.execute(input);
    }
    return (handlers = Object.freeze(bound));
  };
}
