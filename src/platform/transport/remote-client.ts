import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { CallOptions, Contract, ContractClient } from '../contracts/contract.js';
import { ModuleError } from '../contracts/module.error.js';
import { isBrokenCircuit, type ModuleResilience } from './resilience.js';
import { type Transport, TransportError } from './transport.js';

/** Marks an idempotency key the remote caller made up because its caller sent none. */
export const DERIVED_KEY_PREFIX = 'mf-derived:';

/**
 * Binds a contract to a module hosted in another process. Same shape, same
 * JSON copies, same errors as the local adapter; what differs is only that the
 * callee may not answer: then the call fails with UNAVAILABLE (503 at the
 * gateway) after its deadline, never hangs.
 *
 * A command idempotent by key gets a key of its own when its caller sent none,
 * so that retries after a timeout are safe; when even they get no answer, the
 * error says that the command may have been carried out, and with which key to
 * retry it safely: an unknown outcome is never silent.
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
    const keyField = spec.idempotencyKey;
    // A query that waits on purpose (ADR 30) answers after up to its own wait: its deadline is the usual one on top.
    const deadlineOf = (input: object): number => {
      const waits = spec.waitsUpTo === undefined ? 0 : Number((input as Record<string, unknown>)[spec.waitsUpTo]);
      return callTimeoutMs + (Number.isFinite(waits) && waits > 0 ? waits : 0);
    };
    client[operation] = async (input: object, options?: CallOptions) => {
      // A call given up before it began never begins (as with the local adapter).
      options?.signal?.throwIfAborted();
      let sent = input;
      let derived: string | undefined;
      if (keyField !== undefined && (input as Record<string, unknown>)[keyField] === undefined) {
        derived = `${DERIVED_KEY_PREFIX}${randomUUID()}`;
        sent = { ...input, [keyField]: derived };
      }
      let reply;
      try {
        // The transport serialises the input and parses the answer: the caller and the callee share nothing.
        // Given up (the signal), the call stops waiting and makes no further attempt.
        reply = await resilience.execute(
          spec.idempotent || keyField !== undefined,
          (signal) => untilAborted(transport.call(contract.module, operation, sent, deadlineOf(sent)), signal),
          options?.signal,
        );
      } catch (error) {
        if (options?.signal?.aborted) throw options.signal.reason;
        if (isBrokenCircuit(error)) {
          throw new ModuleError('UNAVAILABLE', `module '${contract.module}' is unavailable (circuit open)`, contract.module);
        }
        if (error instanceof TransportError) {
          logger.warn(`${contract.module}.${operation}: ${error.message}`);
          if (error.outcomeUnknown && spec.kind === 'command')
            throw outcomeUnknown(contract.module, operation, spec.idempotent, keyField, derived ?? keyOf(input, keyField));
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

function keyOf(input: object, field: string | undefined): string | undefined {
  const value = field === undefined ? undefined : (input as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/** A command whose deadline passed after it was sent: it may have been done, or not. */
function outcomeUnknown(module: string, operation: string, idempotent: boolean, keyField: string | undefined, key: string | undefined): ModuleError {
  // Idempotent as such (a cancellation): retrying is safe whatever the key, which then only names the request.
  const retry = idempotent
    ? 'retrying is safe'
    : keyField === undefined
      ? 'check before retrying'
      : `retry with the same Idempotency-Key, which is safe${key?.startsWith(DERIVED_KEY_PREFIX) ? ` (the request had none; this one was used: '${key}')` : ''}`;
  return new ModuleError('UNAVAILABLE', `module '${module}' did not answer ${operation} in time: it may have been done all the same; ${retry}`, module);
}

/** The transport's answer, or the signal's reason as soon as it aborts (the request itself runs out on its own). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Its answer no longer matters, but its failure must not go unhandled (that would end the process).
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
