import { existsSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { importSites, type ImportSite } from './import-sites.js';
import type { RuleName, Violation } from './violation.js';
import type { Workspace } from './workspace.js';

/** One resolved import from a file of one module to a file of another. */
export interface ModuleEdge {
  readonly from: string;
  readonly fromModule: string;
  readonly to: string;
  readonly toModule: string;
  readonly line: number;
  readonly names: readonly string[] | '*';
}

export interface ImportAnalysis {
  readonly violations: Violation[];
  /** Every import that crosses from one module to another, whatever the rules said of it. */
  readonly edges: ModuleEdge[];
  readonly filesCruised: number;
}

const IN_MODULE = '^(?:src/modules|migrations)/([^/]+)/';
const MODULE_FILE = '^src/modules/[^/]+/';
const PUBLIC_FACE = '^src/modules/[^/]+/index\\.ts$';

/**
 * The import rules as a dependency-cruiser rule set, generated here rather
 * than kept in a .dependency-cruiser.cjs: `$1` is the importing module, so
 * one rule covers every module, whatever modules the folder layout holds.
 */
function ruleSet(): IForbiddenRuleType[] {
  return [
    { name: 'platform-imports-module', severity: 'error', from: { path: '^src/platform/' }, to: { path: MODULE_FILE } },
    {
      name: 'deep-import',
      severity: 'error',
      from: { path: IN_MODULE },
      to: { path: MODULE_FILE, pathNot: ['^src/modules/$1/', PUBLIC_FACE] },
    },
    {
      // main.ts, the CLIs: they compose modules through the platform, never by importing them.
      name: 'deep-import',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/modules/', '^src/platform/'] },
      to: { path: MODULE_FILE, pathNot: PUBLIC_FACE },
    },
    {
      name: 'public-face',
      severity: 'error',
      comment: "index.ts re-exports its module's contract/ and nothing else",
      from: { path: '^src/modules/([^/]+)/index\\.ts$' },
      to: { path: '^src/modules/$1/', pathNot: '^src/modules/$1/contract/' },
    },
    {
      name: 'public-face',
      severity: 'error',
      comment: 'the contract is public: it may not depend on internals',
      from: { path: '^src/modules/([^/]+)/contract/' },
      to: { path: '^src/modules/$1/internal/' },
    },
    {
      name: 'composition-root-import',
      severity: 'error',
      from: { path: IN_MODULE },
      to: { path: '^src/modules/$1/$1\\.module\\.ts$' },
    },
  ];
}

export async function analyseImports(workspace: Workspace): Promise<ImportAnalysis> {
  const tsConfigFile = join(workspace.root, 'tsconfig.json');
  const hasTsConfig = existsSync(tsConfigFile);
  const inputs = ['src', 'migrations'].filter((dir) => existsSync(join(workspace.root, dir)));
  const result = await cruise(
    inputs,
    {
      baseDir: workspace.root,
      validate: true,
      ruleSet: { forbidden: ruleSet() },
      // `import type` and type-only imports count: a type is a dependency on the contract too.
      tsPreCompilationDeps: true,
      ...(hasTsConfig ? { tsConfig: { fileName: tsConfigFile } } : {}),
      doNotFollow: { path: 'node_modules' },
      exclude: { path: ['node_modules', '\\.d\\.ts$'] },
    },
    {},
    hasTsConfig ? { tsConfig: extractTSConfig(tsConfigFile) } : {},
  );
  const output = result.output as ICruiseResult;
  const sitesOf = memo((file: string) => (workspace.files.includes(file) ? importSites(workspace.source(file)) : []));
  // dependency-cruiser gives the specifier as written and where it resolved; the line comes from our own parse.
  const siteFor = (from: string, specifier: string | undefined): ImportSite | undefined =>
    sitesOf(from).find((site) => site.specifier === specifier);

  const violations = (output.summary.violations ?? []).map((violation): Violation => {
    const rule = violation.rule.name as RuleName;
    const specifier = violation.unresolvedTo ?? specifierOf(output, violation.from, violation.to);
    const site = siteFor(violation.from, specifier);
    return {
      rule,
      file: violation.from,
      line: site?.line ?? 1,
      touches: violation.to,
      what: describe(rule, violation.to),
      fix: fixFor(rule, violation.from, violation.to),
    };
  });

  const edges: ModuleEdge[] = [];
  for (const module of output.modules) {
    const fromModule = workspace.moduleOf(module.source);
    if (!fromModule) continue;
    for (const dependency of module.dependencies) {
      const toModule = /^src\/modules\/([^/]+)\//.exec(dependency.resolved)?.[1];
      if (!toModule || toModule === fromModule || !workspace.moduleNames.has(toModule)) continue;
      const site = siteFor(module.source, dependency.module);
      edges.push({
        from: module.source,
        fromModule,
        to: dependency.resolved,
        toModule,
        line: site?.line ?? 1,
        names: site?.names ?? '*',
      });
    }
  }
  return { violations, edges, filesCruised: output.summary.totalCruised };
}

function specifierOf(output: ICruiseResult, from: string, to: string): string | undefined {
  return output.modules.find((module) => module.source === from)?.dependencies.find((dep) => dep.resolved === to)?.module;
}

function ownerOf(file: string): string {
  return /^src\/modules\/([^/]+)\//.exec(file)?.[1] ?? '?';
}

function describe(rule: RuleName, to: string): string {
  const owner = ownerOf(to);
  switch (rule) {
    case 'platform-imports-module':
      return `imports module '${owner}' (${to})`;
    case 'deep-import':
      return `imports ${to}, which is private to module '${owner}'`;
    case 'public-face':
      return `exposes ${to}, which is private to module '${owner}'`;
    default:
      return `imports ${to}, the composition root only the platform loads`;
  }
}

function fixFor(rule: RuleName, from: string, to: string): string {
  const owner = ownerOf(to);
  const indexPath = posix.relative(dirname(from), `src/modules/${owner}/index.js`);
  switch (rule) {
    case 'platform-imports-module':
      return 'the platform knows no module: take what it needs from the module definitions it is given, or move the code into the module';
    case 'deep-import':
      return `import from '${indexPath.startsWith('.') ? indexPath : `./${indexPath}`}' (its public face) instead; if what you need is not there, add it to src/modules/${owner}/contract/ and re-export it from its index.ts`;
    case 'public-face':
      return `move what is shared into src/modules/${owner}/contract/, or keep it internal and out of the public face`;
    default:
      return 'import the piece you need from its own file; the composition root wires the module for the platform only';
  }
}

function memo<T>(compute: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    if (!cache.has(key)) cache.set(key, compute(key));
    return cache.get(key)!;
  };
}
