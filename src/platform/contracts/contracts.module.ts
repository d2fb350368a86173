import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { ModuleDefinition } from '../modules/module-definition.js';
import type { ContractHandler } from './contract.js';
import { createLocalClient } from './local-client.js';
import { instrumentClient } from '../observability/instrumented-client.js';
import type { Metrics } from '../observability/metrics.js';
import { createRemoteClient } from '../transport/remote-client.js';
import { ModuleResilience, type ResilienceOptions } from '../transport/resilience.js';
import type { Transport } from '../transport/transport.js';
import { createUnboundClient } from './unbound-client.js';

/** How modules hosted elsewhere are reached; absent when this process hosts every module. */
export interface RemoteBinding {
  readonly transport: Transport;
  readonly resilience: ResilienceOptions;
}

/**
 * Binds every module's contract client, once, for the whole process: a module
 * hosted here gets the local adapter, any other one the remote adapter. Module
 * code injects `contract.client` and never learns which it got.
 */
@Module({})
export class ContractsModule {
  static forRoot(
    definitions: readonly ModuleDefinition[],
    hosted: readonly string[],
    remote: RemoteBinding | undefined,
    metrics: Metrics,
  ): DynamicModule {
    const providers: Provider[] = definitions.map((definition) => {
      const { contract } = definition;
      if (!hosted.includes(definition.name)) {
        const client = remote
          ? createRemoteClient(contract, remote.transport, new ModuleResilience(remote.resilience), remote.resilience.callTimeoutMs)
          : createUnboundClient(contract);
        return { provide: contract.client, useValue: instrumentClient(contract, client, 'remote', metrics) };
      }
      return {
        provide: contract.client,
        inject: [ModuleRef],
        useFactory: (moduleRef: ModuleRef) => {
          // Resolved on first call: the handler lives inside the module's own
          // Nest module and is deliberately not exported to anyone but us.
          let handler: ContractHandler<typeof contract> | undefined;
          const resolve = () => {
            handler ??= moduleRef.get<ContractHandler<typeof contract>>(contract.handler, { strict: false }) ?? undefined;
            if (!handler) throw new Error(`module '${contract.module}' provides no handler for its contract`);
            return handler;
          };
          return instrumentClient(contract, createLocalClient(contract, resolve), 'local', metrics);
        },
      };
    });
    return {
      module: ContractsModule,
      global: true,
      providers,
      exports: providers.map((provider) => (provider as { provide: symbol }).provide),
    };
  }
}
