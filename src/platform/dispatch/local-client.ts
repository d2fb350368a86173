import { Logger } from '@nestjs/common';
import { isDatabaseUnavailable } from '../database/database-errors.js';
import { describeFieldErrors } from '../validation/field-errors.js';
import { validateInput } from '../validation/validate-input.js';
import type { CallOptions, Contract, ContractClient, ContractHandler } from '../contracts/contract.js';
import { ModuleError } from '../contracts/module.error.js';

/** A copy through JSON, exactly what a remote call would do to the value. */
export function wireCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/**
 * Binds a contract to its in-process implementation. Arguments, results and
 * errors are copied through the same JSON encoding and input validation as a
 * remote call, so a caller can never come to depend on sharing objects with
 * the callee (and behaviour cannot change when the module moves out).
 */
export function createLocalClient<C extends Contract>(
  contract: C,
  resolveHandler: () => ContractHandler<C>,
  /**
   * False only where the transport already copies: a call that arrived over the
   * network was parsed from JSON and its answer will be serialised to JSON.
   */
  { copy = true }: { copy?: boolean } = {},
): ContractClient<C> {
  const copied = <T>(value: T): T => (copy ? wireCopy(value) : value);
  const logger = new Logger(`${contract.module}.local`);
  const client: Record<string, (input: object, options?: CallOptions) => Promise<unknown>> = {};
  for (const [operation, spec] of Object.entries(contract.operations)) {
    client[operation] = async (input: object, options?: CallOptions) => {
      // A call given up before it began never begins: retries of a blocked step do not pile up behind it.
      options?.signal?.throwIfAborted();
      const decoded = await validateInput(spec.input, copied(input));
      if (!decoded.ok) {
        throw new ModuleError('INVALID', describeFieldErrors(decoded.errors), contract.module, decoded.errors);
      }
      options?.signal?.throwIfAborted();
      const handler = resolveHandler() as unknown as Record<string, (input: object) => Promise<unknown>>;
      try {
        return copied(await handler[operation](decoded.value));
      } catch (error) {
        if (error instanceof ModuleError) throw ModuleError.fromData(wireCopy(error.toData()));
        if (isDatabaseUnavailable(error)) {
          logger.warn(`${contract.module}.${operation}: database unavailable: ${(error as Error).message}`);
          throw new ModuleError('UNAVAILABLE', `module '${contract.module}' is temporarily unavailable`, contract.module);
        }
        logger.error(`${contract.module}.${operation} failed: ${(error as Error)?.stack ?? String(error)}`);
        throw new ModuleError('INTERNAL', `${contract.module}.${operation} failed`, contract.module);
      }
    };
  }
  return Object.freeze(client) as unknown as ContractClient<C>;
}

/** Anything that finds a provider by token across modules: Nest's ModuleRef, or the application. */
export interface ProviderLookup {
  get<T>(token: symbol, options: { strict: false }): T;
}

/**
 * The hosting module's handler of a contract, looked up on first call: it
 * lives inside the module's own Nest module and is exported to no one.
 */
export function lazyHandler<C extends Contract>(contract: C, providers: ProviderLookup): () => ContractHandler<C> {
  let handler: ContractHandler<C> | undefined;
  return () => {
    handler ??= providers.get<ContractHandler<C> | undefined>(contract.handler, { strict: false }) ?? undefined;
    if (!handler) throw new Error(`module '${contract.module}' provides no handler for its contract`);
    return handler;
  };
}
