import type { CallOptions, Contract, ContractClient } from '../contracts/contract.js';
import { ModuleError } from '../contracts/module.error.js';
import type { Metrics } from './metrics.js';
import { inSpan, SpanKind } from './tracing.js';

/**
 * Wraps a contract client so that every call is a span (`<module>.<operation>`,
 * attribute `module`) and its latency is recorded, split by binding and outcome.
 */
export function instrumentClient<C extends Contract>(contract: C, client: ContractClient<C>, binding: 'local' | 'remote', metrics: Metrics): ContractClient<C> {
  const calls = client as unknown as Record<string, (input: object, options?: CallOptions) => Promise<unknown>>;
  const wrapped: Record<string, (input: object, options?: CallOptions) => Promise<unknown>> = {};
  for (const operation of Object.keys(contract.operations)) {
    wrapped[operation] = async (input: object, options?: CallOptions) => {
      const started = process.hrtime.bigint();
      let outcome = 'ok';
      try {
        return await inSpan(
          `${contract.module}.${operation}`,
          {
            kind: binding === 'remote' ? SpanKind.CLIENT : SpanKind.INTERNAL,
            attributes: { module: contract.module, 'module.operation': operation, 'module.binding': binding },
          },
          () => calls[operation](input, options),
        );
      } catch (error) {
        outcome = error instanceof ModuleError ? error.code : 'ERROR';
        throw error;
      } finally {
        metrics.moduleCallDuration.observe({ module: contract.module, operation, binding, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    };
  }
  return Object.freeze(wrapped) as unknown as ContractClient<C>;
}
