import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { ModuleDefinition } from '../modules/module-definition.js';
import { createLocalClient } from './local-client.js';
import { dispatchTo, findOperationHandlers } from './operation-handlers.js';
import { instrumentClient } from '../observability/instrumented-client.js';
import type { Metrics } from '../observability/metrics.js';
import { createRemoteClient } from '../transport/remote-client.js';
import { ModuleResilience, type ResilienceOptions } from '../transport/resilience.js';
import type { Transport } from '../transport/transport.js';

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
    /** Absent only when this process hosts every module. */
    remote: RemoteBinding | undefined,
    metrics: Metrics,
  ): DynamicModule {
    const providers: Provider[] = definitions.map((definition) => {
      const { contract } = definition;
      if (!hosted.includes(definition.name)) {
        if (!remote) throw new Error(`module '${definition.name}' is not hosted here and no transport is bound`);
        const resilience = new ModuleResilience(remote.resilience);
        remote.transport.onReconnect?.(() => resilience.reset());
        const client = createRemoteClient(contract, remote.transport, resilience, remote.resilience.callTimeoutMs);
        return { provide: contract.client, useValue: instrumentClient(contract, client, 'remote', metrics) };
      }
      // Found (and checked) now, when the process is composed: a module missing a handler does not start.
      const handlers = findOperationHandlers(definition);
      return {
        provide: contract.client,
        inject: [ModuleRef],
        useFactory: (moduleRef: ModuleRef) => instrumentClient(contract, createLocalClient(contract, dispatchTo(handlers, moduleRef)), 'local', metrics),
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
