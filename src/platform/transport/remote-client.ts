import { Logger } from '@nestjs/common';
import type { CallOptions, Contract, ContractClient } from '../contracts/contract.js';
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
  const client: Record<string, (input: object, options?: CallOptions) => Promise<unknown>> = {};
  for (const [operation, spec] of Object.entries(contract.operations)) {
    client[operation] = async (input: object, options?: CallOptions) => {
      let reply;
      try {
        // The transport serialises the input and parses the answer: the caller and the callee share nothing.
        // Given up (the signal), the call stops waiting and makes no further attempt.
        reply = await resilience.execute(
          spec.idempotent,
          (signal) => untilAborted(transport.call(contract.module, operation, input, callTimeoutMs), signal),
          options?.signal,
        );
      } catch (error) {
        if (options?.signal?.aborted) throw options.signal.reason;
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

/** The transport's answer, or the signal's reason as soon as it aborts (the request itself runs out on its own). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
