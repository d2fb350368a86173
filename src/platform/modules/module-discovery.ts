import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DiscoveredModule, ModuleDefinition, ModuleManifest } from './module-definition.js';

/** `src/modules/` (or `dist/src/modules/` when built): one folder per module. */
export const MODULES_ROOT = fileURLToPath(new URL('../../modules/', import.meta.url));

const MODULE_NAME = /^[a-z][a-z0-9_]{0,30}$/;

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
  return modules;
}

function readManifest(dir: string, name: string): ModuleManifest {
  const file = join(dir, 'module.json');
  if (!existsSync(file)) throw new Error(`module '${name}' has no module.json`);
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Partial<ModuleManifest>;
  if (!Array.isArray(manifest.dependsOn) || !manifest.dependsOn.every((dep) => typeof dep === 'string')) {
    throw new Error(`${name}/module.json: "dependsOn" must be an array of module names`);
  }
  return { dependsOn: manifest.dependsOn };
}
