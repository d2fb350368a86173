import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { isDatabaseUnavailable } from '../database/database-errors.js';
import type { ConsumerStats } from '../observability/metrics.js';
import { ModuleOperations } from '../operations/module-operations.js';
import { OperatorRequestError, performOperatorRequest, readOperatorRequest } from '../operations/operator-requests.js';
import type { DataSource } from 'typeorm';
import type { CallReply, ProcessInstance, Transport } from '../transport/transport.js';

/**
 * Lets the operator console of a gateway in another process read and act on
 * the modules hosted here (ADR 40): each request is validated here, on receipt,
 * and carried out with this process's own database role, through the same
 * ModuleOperations the CLIs use. Every replica answers roll calls.
 */
export function serveOperatorRequests(options: {
  transport: Transport;
  hosted: readonly string[];
  database: (module: string) => DataSource;
  consumerStats: () => Promise<readonly ConsumerStats[]>;
  instance: ProcessInstance;
}): void {
  const { transport } = options;
  if (!transport.serveOperations) return;
  const logger = new Logger('operations');
  for (const module of options.hosted) {
    transport.serveOperations(
      module,
      async (input): Promise<CallReply> => {
        try {
          const request = readOperatorRequest(input, randomUUID);
          if (request.op !== 'overview') logger.log(`operator request: ${JSON.stringify(request)} on ${module}`);
          const operations = new ModuleOperations(options.database(module), module);
          return { ok: true, result: await performOperatorRequest(operations, request, options.consumerStats) };
        } catch (error) {
          if (error instanceof OperatorRequestError) return { ok: false, error: { code: error.code, message: error.message, module } };
          if (isDatabaseUnavailable(error))
            return { ok: false, error: { code: 'UNAVAILABLE', message: `module '${module}' is temporarily unavailable`, module } };
          throw error;
        }
      },
      options.instance,
    );
  }
}
