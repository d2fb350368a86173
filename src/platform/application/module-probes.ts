import type { AppConfig } from '../config/app-config.js';
import type { ModuleProbe, ReadinessCheck } from '../health/module-health.js';
import type { DiscoveredModule } from '../modules/module-definition.js';
import type { Transport } from '../transport/transport.js';
import type { ModuleDatabases } from './module-databases.js';

/** What /health reports of each module: where it runs, whether this process needs it, and how to tell it is up. */
export function moduleProbes(
  config: AppConfig,
  modules: readonly DiscoveredModule[],
  databases: ModuleDatabases,
  transport: Transport | undefined,
): ReadonlyMap<string, ModuleProbe> {
  const hosted = new Set(config.hostedModules);
  // A gateway serves every module's routes; a headless process needs its modules and what they call.
  // Not the modules they only listen to: their events wait in the publisher's outbox, needing nothing of this process.
  const needed = new Set(
    config.gateway
      ? config.knownModules
      : modules.filter((module) => hosted.has(module.definition.name)).flatMap((module) => [module.definition.name, ...module.manifest.calls]),
  );
  return new Map(
    modules.map(({ definition: { name } }): [string, ModuleProbe] => [
      name,
      hosted.has(name)
        ? { location: 'local', needed: needed.has(name), isUp: () => databases.ping(name) }
        : { location: 'remote', needed: needed.has(name), isUp: async () => (transport ? transport.ping(name, 1_000) : false) },
    ]),
  );
}

/**
 * What /health/ready checks: this process's own work only. The database of each module it
 * hosts, and NATS when it has a transport (it serves or calls modules over it, or reads the
 * event stream). Not the modules served elsewhere: an orchestrator that took a gateway out of
 * its Service because one module's service is down would cut every other route too.
 */
export function readinessChecks(config: AppConfig, databases: ModuleDatabases, transport: Transport | undefined): ReadinessCheck[] {
  return [
    ...config.hostedModules.map((name): ReadinessCheck => ({ name: `database:${name}`, isUp: () => databases.ping(name) })),
    ...(transport ? [{ name: 'nats', isUp: async () => transport.isConnected() }] : []),
  ];
}
