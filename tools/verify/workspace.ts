import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';
import type { ModuleManifest } from '../../src/platform/modules/module-definition.js';
import { MODULE_NAME, readManifest } from '../../src/platform/modules/module-discovery.js';
import type { Violation } from './violation.js';

export interface ModuleInfo {
  readonly name: string;
  /** `src/modules/<name>` */
  readonly dir: string;
  readonly manifestFile: string;
  /** Undefined when module.json is missing or invalid (then reported as a violation). */
  readonly manifest: ModuleManifest | undefined;
}

/** The folders the checker reads; everything else of the repository is out of its scope. */
const SCANNED = ['src', 'migrations'];

/**
 * The tree under check: its modules, found from the folder layout exactly as
 * the platform finds them (a folder of src/modules/ with `<name>.module.ts` and
 * `module.json`), and its TypeScript sources, parsed once and shared by the rules.
 */
export class Workspace {
  readonly modules: readonly ModuleInfo[];
  readonly moduleNames: ReadonlySet<string>;
  /** Repository-relative paths of every `.ts` under src/ and migrations/. */
  readonly files: readonly string[];
  /** Layout and manifest problems found while discovering. */
  readonly problems: readonly Violation[];
  private readonly parsed = new Map<string, ts.SourceFile>();

  constructor(readonly root: string) {
    const problems: Violation[] = [];
    this.modules = discover(root, problems);
    this.moduleNames = new Set(this.modules.map((module) => module.name));
    this.files = SCANNED.flatMap((dir) => listTypeScript(root, dir)).sort();
    this.problems = problems;
  }

  module(name: string): ModuleInfo | undefined {
    return this.modules.find((module) => module.name === name);
  }

  /** The module a file belongs to: `src/modules/<m>/**` and `migrations/<m>/**`. */
  moduleOf(file: string): string | undefined {
    const match = /^(?:src\/modules|migrations)\/([^/]+)\//.exec(file);
    return match && this.moduleNames.has(match[1]) ? match[1] : undefined;
  }

  /** The sources of a module: its folder and its migrations. */
  filesOf(module: string): string[] {
    return this.files.filter((file) => this.moduleOf(file) === module);
  }

  read(file: string): string {
    return readFileSync(join(this.root, file), 'utf8');
  }

  source(file: string): ts.SourceFile {
    let source = this.parsed.get(file);
    if (!source) {
      source = ts.createSourceFile(file, this.read(file), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
      this.parsed.set(file, source);
    }
    return source;
  }

  /** 1-based line of a position in a file. */
  lineAt(file: string, position: number): number {
    return this.source(file).getLineAndCharacterOfPosition(position).line + 1;
  }

  /** The line of a module's module.json that declares `dep` (1 when not found). */
  manifestLine(module: string, dep?: string): number {
    const info = this.module(module);
    if (!info || dep === undefined || !existsSync(join(this.root, info.manifestFile))) return 1;
    const lines = this.read(info.manifestFile).split('\n');
    const index = lines.findIndex((line) => line.includes(`"${dep}"`));
    return index + 1 || 1;
  }
}

function discover(root: string, problems: Violation[]): ModuleInfo[] {
  const modulesDir = join(root, 'src', 'modules');
  const names = readdirSync(modulesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const modules: ModuleInfo[] = [];
  for (const name of names) {
    const dir = `src/modules/${name}`;
    const manifestFile = `${dir}/module.json`;
    const layout = (file: string, what: string, fix: string) => problems.push({ rule: 'module-manifest', file, line: 1, touches: what, what, fix });
    if (!MODULE_NAME.test(name)) {
      layout(dir, `folder '${name}' is not a valid module name`, 'rename it: lower case letters, digits and _, starting with a letter');
      continue;
    }
    if (!existsSync(join(root, dir, `${name}.module.ts`))) {
      layout(dir, `no composition root ${name}.module.ts`, `add ${dir}/${name}.module.ts default-exporting defineModule({ name: '${name}', ... })`);
    }
    if (!existsSync(join(root, dir, 'index.ts'))) {
      layout(dir, 'no public face index.ts', `add ${dir}/index.ts re-exporting the module's contract/ (the only file other modules may import)`);
    }
    let manifest: ModuleManifest | undefined;
    try {
      manifest = readManifest(join(root, dir), name);
    } catch (error) {
      layout(manifestFile, (error as Error).message, `write ${manifestFile} as { "dependsOn": { "<module>": "calls" | "events" } }`);
    }
    modules.push({ name, dir, manifestFile, manifest });
  }
  for (const { name, manifestFile, manifest } of modules) {
    for (const dep of manifest?.dependsOn ?? []) {
      if (modules.some((module) => module.name === dep)) continue;
      const line =
        readFileSync(join(root, manifestFile), 'utf8')
          .split('\n')
          .findIndex((l) => l.includes(`"${dep}"`)) + 1 || 1;
      problems.push({
        rule: 'module-manifest',
        file: manifestFile,
        line,
        touches: `unknown module ${dep}`,
        what: `'${name}' declares a dependency on '${dep}', which is no module (no folder src/modules/${dep}/)`,
        fix: `remove it from ${manifestFile}, or fix the name (modules: ${modules.map((m) => m.name).join(', ')})`,
      });
    }
  }
  return modules;
}

function listTypeScript(root: string, dir: string): string[] {
  const absolute = join(root, dir);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) return [];
  return (readdirSync(absolute, { recursive: true }) as string[])
    .map((file) => posix.join(dir, file.split('\\').join('/')))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.split('/').includes('node_modules'));
}
