import type { Contract, ContractClient } from './contract.js';
import { ModuleError } from './module.error.js';

/**
 * The client of a module that this process does not host and cannot reach:
 * every call answers UNAVAILABLE (503 at the gateway) instead of hanging.
 */
export function createUnboundClient<C extends Contract>(contract: C): ContractClient<C> {
  const client: Record<string, () => Promise<never>> = {};
  for (const operation of Object.keys(contract.operations)) {
    client[operation] = () =>
      Promise.reject(
        new ModuleError('UNAVAILABLE', `module '${contract.module}' is not hosted by this process and no transport reaches it`, contract.module),
      );
  }
  return Object.freeze(client) as unknown as ContractClient<C>;
}
