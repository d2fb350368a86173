import { Logger } from '@nestjs/common';
import { isDatabaseUnavailable } from '../database/database-errors.js';
import { describeFieldErrors } from '../validation/field-errors.js';
import { validateInput } from '../validation/validate-input.js';
import type { CallOptions, Contract, ContractClient } from '../contracts/contract.js';
import { ModuleError } from '../contracts/module.error.js';
import type { OperationHandlers } from './operation-handlers.js';

/** A copy through JSON, exactly what a remote call would do to the value. */
export function wireCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/**
 * Binds a contract to its in-process implementation (its module's command and
 * query handlers, see operation-handlers.ts). Arguments, results and
 * errors are copied through the same JSON encoding and input validation as a
 * remote call, so a caller can never come to depend on sharing objects with
 * the callee (and behaviour cannot change when the module moves out).
 */
export function createLocalClient<C extends Contract>(
  contract: C,
  resolveHandlers: () => OperationHandlers,
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
      const handlers = resolveHandlers();
      try {
        return copied(await handlers[operation](decoded.value as object));
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
