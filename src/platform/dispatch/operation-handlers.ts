import type { Type } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants.js';
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
 * Each operation's handler class among the module's providers, checked before
 * the module starts: exactly one per operation, of its kind (a command's
 * @CommandHandler of its input class, a query's @QueryHandler). A gap would
 * otherwise surface as the first caller's INTERNAL error.
 */
export function findOperationHandlers(definition: ModuleDefinition): ReadonlyMap<string, Type<OperationHandler>> {
  const found = new Map<Function, Array<{ kind: 'command' | 'query'; handler: Function }>>();
  for (const provider of providerClasses(definition.core)) {
    for (const [kind, key] of [
      ['command', COMMAND_HANDLER_METADATA],
      ['query', QUERY_HANDLER_METADATA],
    ] as const) {
      const handled = Reflect.getMetadata(key, provider) as Function | undefined;
      if (handled) found.set(handled, [...(found.get(handled) ?? []), { kind, handler: provider }]);
    }
  }
  const problems: string[] = [];
  const handlers = new Map<string, Type<OperationHandler>>();
  for (const [operation, spec] of Object.entries(definition.contract.operations)) {
    const decorator = spec.kind === 'command' ? 'CommandHandler' : 'QueryHandler';
    const candidates = found.get(spec.input) ?? [];
    const wanted = `@${decorator}(${spec.input.name})`;
    if (candidates.length === 0) problems.push(`operation '${operation}' has no ${wanted} among the providers of ${definition.core.name}`);
    else if (candidates.length > 1) {
      problems.push(`operation '${operation}' has ${candidates.length} handlers (${candidates.map((c) => c.handler.name).join(', ')}): keep one`);
    } else if (candidates[0].kind !== spec.kind) {
      problems.push(
        `operation '${operation}' is a ${spec.kind}, so ${candidates[0].handler.name} must be a ${wanted}, not a @${spec.kind === 'command' ? 'QueryHandler' : 'CommandHandler'}`,
      );
    } else handlers.set(operation, candidates[0].handler as Type<OperationHandler>);
  }
  if (problems.length > 0) throw new Error(`module '${definition.name}': ${problems.join('; ')}`);
  return handlers;
}

/** What @CommandHandler and @QueryHandler classes implement (ICommandHandler, IQueryHandler). */
interface OperationHandler {
  execute(input: object): Promise<unknown>;
}

/**
 * The hosting module's side of its contract: each operation goes to the
 * handler @nestjs/cqrs's CommandBus or QueryBus would pick for its input
 * class, found by the same decorator metadata when the module is composed
 * (findOperationHandlers),
 * and called directly. The bus's own dispatch (metadata lookup, publishing to
 * its observers, one more promise) measured about a quarter of a microsecond
 * per call, which alone breaks the local adapter's budget (ADR 17); a
 * contract call never needs its observers. Instances are looked up on first
 * call, once Nest has built them.
 */
export function dispatchTo(classes: ReadonlyMap<string, Type<OperationHandler>>, providers: ProviderLookup): () => OperationHandlers {
  let handlers: OperationHandlers | undefined;
  return () => {
    if (handlers) return handlers;
    const bound: Record<string, (input: object) => Promise<unknown>> = {};
    for (const [operation, type] of classes) {
      const instance = providers.get(type, { strict: false });
      bound[operation] = (input) => instance.execute(input);
    }
    return (handlers = Object.freeze(bound));
  };
}
