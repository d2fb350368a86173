import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DependencyKind, DiscoveredModule, ModuleDefinition, ModuleManifest } from './module-definition.js';

/** `src/modules/` (or `dist/src/modules/` when built): one folder per module. */
export const MODULES_ROOT = fileURLToPath(new URL('../../modules/', import.meta.url));

export const MODULE_NAME = /^[a-z][a-z0-9_]{0,30}$/;

/**
 * Finds the modules by folder: every folder of `src/modules/` with a
 * `<name>.module.(ts|js)` composition root and a `module.json` manifest.
 * Sorted by name, so start-up order never depends on the file system.
 */
export async function discoverModules(root = MODULES_ROOT): Promise<DiscoveredModule[]> {
  const entries = await readdir(root, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const modules: DiscoveredModule[] = [];
  for (const name of names) {
    if (!MODULE_NAME.test(name)) {
      throw new Error(`module folder '${name}' is not a valid module name (lower case letters, digits, _)`);
    }
    const dir = join(root, name);
    const entry = ['js', 'ts'].map((ext) => join(dir, `${name}.module.${ext}`)).find((file) => existsSync(file));
    if (!entry) throw new Error(`module '${name}' has no composition root ${name}.module.ts`);
    const definition = ((await import(pathToFileURL(entry).href)) as { default?: ModuleDefinition }).default;
    if (!definition || definition.name !== name || definition.contract?.module !== name) {
      throw new Error(`${name}.module.ts must default-export defineModule({ name: '${name}', ... }) with a '${name}' contract`);
    }
    modules.push({ definition, manifest: readManifest(dir, name), migrationsDir: join(root, '..', '..', 'migrations', name) });
  }
  checkDeclaredCalls(modules);
  return modules;
}

/**
 * The operations a module declares it calls (`calls`, `httpCalls`) exist, and are of modules
 * its module.json lets it call: the NATS permissions are generated from them (ADR 21).
 */
function checkDeclaredCalls(modules: readonly DiscoveredModule[]): void {
  const contracts = new Map(modules.map((m) => [m.definition.name, m.definition.contract]));
  for (const { definition, manifest } of modules) {
    for (const [field, uses, allowed] of [
      ['calls', definition.calls ?? [], manifest.calls],
      ['httpCalls', definition.httpCalls ?? [], [definition.name, ...manifest.calls]],
    ] as const) {
      for (const use of uses) {
        if (!allowed.includes(use.module)) {
          throw new Error(
            `${definition.name}.module.ts ${field}: '${use.module}' is not a module it calls (module.json "dependsOn": { "${use.module}": "calls" })`,
          );
        }
        const contract = contracts.get(use.module);
        for (const operation of use.operations) {
          if (contract && !Object.hasOwn(contract.operations, operation)) {
            throw new Error(`${definition.name}.module.ts ${field}: '${use.module}' has no operation '${operation}'`);
          }
        }
      }
    }
  }
}

/**
 * Reads `<dir>/module.json`, e.g. `{ "dependsOn": { "inventory": "calls", "ledger": "events" } }`:
 * each module this one may use, and how (see DependencyKind). The older form, an array of
 * names, still reads, each name as `calls`: that is what it allowed (the whole contract).
 * Exported for `tools/verify`, so the checker and the platform never read a manifest differently.
 */
export function readManifest(dir: string, name: string): ModuleManifest {
  const file = join(dir, 'module.json');
  if (!existsSync(file)) throw new Error(`module '${name}' has no module.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${name}/module.json: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseManifest(raw, name);
}

const DEPENDENCY_KINDS: readonly DependencyKind[] = ['calls', 'events'];

export function parseManifest(raw: unknown, name: string): ModuleManifest {
  const where = `${name}/module.json`;
  const declared = typeof raw === 'object' && raw !== null ? (raw as { dependsOn?: unknown }).dependsOn : undefined;
  const kinds = new Map<string, DependencyKind>();
  if (Array.isArray(declared)) {
    for (const dep of declared) {
      if (typeof dep !== 'string') throw new Error(`${where}: "dependsOn" entries must be module names`);
      kinds.set(dep, 'calls');
    }
  } else if (typeof declared === 'object' && declared !== null) {
    for (const [dep, kind] of Object.entries(declared)) {
      if (!DEPENDENCY_KINDS.includes(kind as DependencyKind)) {
        throw new Error(`${where}: dependency '${dep}' must be "calls" (synchronous request/reply) or "events", got ${JSON.stringify(kind)}`);
      }
      kinds.set(dep, kind as DependencyKind);
    }
  } else {
    throw new Error(`${where}: "dependsOn" must map module names to "calls" or "events", e.g. { "dependsOn": { "inventory": "calls" } }`);
  }
  for (const dep of kinds.keys()) {
    if (!MODULE_NAME.test(dep)) throw new Error(`${where}: '${dep}' is not a valid module name`);
    if (dep === name) throw new Error(`${where}: a module does not depend on itself`);
  }
  const of = (kind: DependencyKind) =>
    [...kinds]
      .filter(([, k]) => k === kind)
      .map(([dep]) => dep)
      .sort();
  return { dependsOn: [...kinds.keys()].sort(), calls: of('calls'), events: of('events') };
}
