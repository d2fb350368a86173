import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoverModules, MODULES_ROOT } from '../../src/platform/modules/module-discovery.js';
import type { DiscoveredModule } from '../../src/platform/modules/module-definition.js';

/** Every .ts file under `dir`, tests excluded. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The operation names of `callees` that the files invoke as `.<operation>(`. */
function invoked(files: readonly string[], callees: readonly DiscoveredModule[]): Set<string> {
  const found = new Set<string>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const callee of callees) {
      for (const operation of Object.keys(callee.definition.contract.operations)) {
        if (new RegExp(`\\.${operation}\\(`).test(text)) found.add(`${callee.definition.name}.${operation}`);
      }
    }
  }
  return found;
}

const declared = (uses: DiscoveredModule['definition']['calls']) => new Set((uses ?? []).flatMap((use) => use.operations.map((op) => `${use.module}.${op}`)));

/**
 * The NATS permissions are generated from what modules declare they call (`calls`, `httpCalls`,
 * ADR 21): what the code calls must be declared, or under generated permissions the call is
 * refused by the server. Read from the source, as a reviewer would.
 */
describe('declared calls match the code', () => {
  let modules: DiscoveredModule[];
  beforeAll(async () => {
    modules = await discoverModules();
  });

  it("declares in `calls` every other module's operation its code calls", () => {
    for (const module of modules) {
      const internal = join(MODULES_ROOT, module.definition.name, 'internal');
      const files = sources(internal).filter((file) => !file.startsWith(join(internal, 'http')));
      const callees = modules.filter((m) => module.manifest.calls.includes(m.definition.name));
      expect({ module: module.definition.name, undeclared: [...invoked(files, callees)].filter((op) => !declared(module.definition.calls).has(op)) }).toEqual({
        module: module.definition.name,
        undeclared: [],
      });
    }
  });

  it('declares in `httpCalls` every operation its HTTP routes call', () => {
    for (const module of modules) {
      const files = sources(join(MODULES_ROOT, module.definition.name, 'internal', 'http'));
      const callees = modules.filter((m) => m === module || module.manifest.calls.includes(m.definition.name));
      expect({
        module: module.definition.name,
        undeclared: [...invoked(files, callees)].filter((op) => !declared(module.definition.httpCalls).has(op)),
      }).toEqual({
        module: module.definition.name,
        undeclared: [],
      });
    }
  });
});
