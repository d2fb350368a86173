import { Logger } from '@nestjs/common';
import type { Contract, ContractClient } from '../contracts/contract.js';
import { ModuleError } from '../contracts/module.error.js';
import { isBrokenCircuit, type ModuleResilience } from './resilience.js';
import { type Transport, TransportError } from './transport.js';

/**
 * Binds a contract to a module hosted in another process. Same shape, same
 * JSON copies, same errors as the local adapter; what differs is only that the
 * callee may not answer: then the call fails with UNAVAILABLE (503 at the
 * gateway) after its deadline, never hangs.
 */
export function createRemoteClient<C extends Contract>(
  contract: C,
  transport: Transport,
  resilience: ModuleResilience,
  callTimeoutMs: number,
): ContractClient<C> {
  const logger = new Logger(`${contract.module}.remote`);
  const client: Record<string, (input: object) => Promise<unknown>> = {};
  for (const [operation, spec] of Object.entries(contract.operations)) {
    client[operation] = async (input: object) => {
      let reply;
      try {
        // The transport serialises the input and parses the answer: the caller and the callee share nothing.
        reply = await resilience.execute(spec.idempotent, () => transport.call(contract.module, operation, input, callTimeoutMs));
      } catch (error) {
        if (isBrokenCircuit(error)) {
          throw new ModuleError('UNAVAILABLE', `module '${contract.module}' is unavailable (circuit open)`, contract.module);
        }
        if (error instanceof TransportError) {
          logger.warn(`${contract.module}.${operation}: ${error.message}`);
          throw new ModuleError('UNAVAILABLE', `module '${contract.module}' did not answer`, contract.module);
        }
        throw error;
      }
      if (reply.ok) return reply.result;
      throw ModuleError.fromData(reply.error);
    };
  }
  return Object.freeze(client) as unknown as ContractClient<C>;
}
