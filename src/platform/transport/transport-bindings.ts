import { Logger } from '@nestjs/common';
import type { ContractClient } from '../contracts/contract.js';
import { ModuleError } from '../contracts/module.error.js';
import { isDatabaseUnavailable } from '../database/database-errors.js';
import type { ModuleDefinition } from '../modules/module-definition.js';
import type { Transport } from './transport.js';

/**
 * Puts the hosted modules on the transport: their contracts answer remote
 * calls through the same local adapter that in-process callers use, so the
 * payload is validated on receipt either way. (Events go through the event
 * stream, see Messaging.)
 */
export function bindTransport(options: {
  transport: Transport;
  definitions: readonly ModuleDefinition[];
  hosted: readonly string[];
  clientOf: (definition: ModuleDefinition) => ContractClient<ModuleDefinition['contract']>;
}): void {
  const { transport, definitions, hosted } = options;
  const logger = new Logger('transport');
  for (const definition of definitions.filter((d) => hosted.includes(d.name))) {
    const client = options.clientOf(definition) as Record<string, (input: object) => Promise<unknown>>;
    transport.serveModule(definition.name, async (operation, input) => {
      if (!Object.hasOwn(definition.contract.operations, operation)) {
        return { ok: false, error: new ModuleError('INVALID', `'${definition.name}' has no operation '${operation}'`, definition.name).toData() };
      }
      try {
        return { ok: true, result: await client[operation](input as object) };
      } catch (error) {
        if (error instanceof ModuleError) return { ok: false, error: error.toData() };
        // The module's store is away (a restart): the caller's 503, as in-process, never its 500.
        if (isDatabaseUnavailable(error)) {
          logger.warn(`${definition.name}.${operation}: database unavailable: ${(error as Error).message}`);
          return { ok: false, error: new ModuleError('UNAVAILABLE', `module '${definition.name}' is temporarily unavailable`, definition.name).toData() };
        }
        throw error;
      }
    });
  }
  logger.log(`serving [${hosted.join(', ')}] over the transport`);
}
