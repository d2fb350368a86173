import { existsSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { arrow, simpleCycles } from './graph.js';
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
/** The platform's public face (docs/platform.md): what module code may import of src/platform. */
export const PLATFORM_FACE = 'src/platform/index.ts';
/** Its light part, for a module's contract/ files: no database, no transport. */
export const PLATFORM_CONTRACTS_FACE = 'src/platform/contracts/index.ts';
const FACES = [`^${escapeRegExp(PLATFORM_FACE)}$`, `^${escapeRegExp(PLATFORM_CONTRACTS_FACE)}$`];

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
      name: 'platform-internal-import',
      severity: 'error',
      comment: 'modules see the platform through its public face only',
      from: { path: IN_MODULE },
      to: { path: '^src/platform/', pathNot: FACES },
    },
    {
      name: 'platform-internal-import',
      severity: 'error',
      comment: 'a contract loads anywhere (the contract gate too): it uses the light face only',
      from: { path: '^src/modules/[^/]+/contract/' },
      to: { path: `^${escapeRegExp(PLATFORM_FACE)}$` },
    },
    {
      name: 'platform-layering',
      severity: 'error',
      comment: 'the faces are for modules; inside the platform, a file imports the file it needs',
      from: { path: '^src/platform/', pathNot: [...FACES, '^src/platform/[^/]+/[^/]+\\.spec\\.ts$'] },
      to: { path: FACES },
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
  const siteFor = (from: string, specifier: string | undefined): ImportSite | undefined => sitesOf(from).find((site) => site.specifier === specifier);

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
  violations.push(...platformCycles(output, siteFor));
  return { violations, edges, filesCruised: output.summary.totalCruised };
}

/** `src/platform/<folder>/…` (not a spec: a test may reach anywhere) → its folder. */
function platformFolderOf(file: string): string | undefined {
  if (/\.spec\.ts$/.test(file)) return undefined;
  return /^src\/platform\/([^/]+)\/.+/.exec(file)?.[1];
}

/**
 * The platform's own folders point one way (docs/platform.md draws the layers):
 * a cycle between folders, through any of their files, fails, once per cycle,
 * at the import that leaves its first folder, naming a file for every step.
 */
function platformCycles(output: ICruiseResult, siteFor: (from: string, specifier: string) => ImportSite | undefined): Violation[] {
  const steps = new Map<string, { from: string; to: string; specifier: string }>();
  const graph = new Map<string, Set<string>>();
  for (const module of output.modules) {
    const fromFolder = platformFolderOf(module.source);
    if (!fromFolder) continue;
    for (const dependency of module.dependencies) {
      const toFolder = platformFolderOf(dependency.resolved);
      if (!toFolder || toFolder === fromFolder) continue;
      if (!graph.has(fromFolder)) graph.set(fromFolder, new Set());
      graph.get(fromFolder)!.add(toFolder);
      const key = `${fromFolder}\0${toFolder}`;
      const step = { from: module.source, to: dependency.resolved, specifier: dependency.module };
      const known = steps.get(key);
      if (!known || step.from.localeCompare(known.from) < 0) steps.set(key, step);
    }
  }
  return simpleCycles(graph).map((cycle): Violation => {
    const hops = cycle.slice(0, -1).map((folder, index) => steps.get(`${folder}\0${cycle[index + 1]}`)!);
    const [first] = hops;
    return {
      rule: 'platform-layering',
      file: first.from,
      line: siteFor(first.from, first.specifier)?.line ?? 1,
      touches: `cycle ${arrow(cycle)}`,
      what: `closes a cycle between platform folders, ${arrow(cycle)}: ${hops.map((hop) => `${hop.from} imports ${hop.to}`).join('; ')}`,
      fix: 'make the folders point one way: move what the lower folder needs of the higher one down (or into the folder that needs it), or have the composition (src/platform/application) pass it in',
    };
  });
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
    case 'platform-internal-import':
      return to === PLATFORM_FACE
        ? `imports ${to}, which a contract/ file may not (it loads the whole platform)`
        : `imports ${to}, which is internal to the platform`;
    case 'platform-layering':
      return `imports ${to}, the platform's face for modules`;
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
    case 'platform-internal-import': {
      const contractFile = /^src\/modules\/[^/]+\/contract\//.test(from);
      const face = posix.relative(dirname(from), contractFile ? PLATFORM_CONTRACTS_FACE : PLATFORM_FACE).replace(/\.ts$/, '.js');
      return contractFile
        ? `import it from '${face}' (defineContract, command, query, IntegrationEvent, ModuleError); keep the rest out of the contract`
        : `import it from '${face}' (the platform's public face); if what you need is not there, it is not meant for modules: ask for it to be added to the face (docs/platform.md)`;
    }
    case 'platform-layering':
      return 'import the platform file itself: the faces re-export for modules, and a platform file importing them closes a cycle';
    default:
      return 'import the piece you need from its own file; the composition root wires the module for the platform only';
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function memo<T>(compute: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    if (!cache.has(key)) cache.set(key, compute(key));
    return cache.get(key)!;
  };
}
