import { posix } from 'node:path';
import ts from 'typescript';
import { arrow, type ModuleGraph, simpleCycles } from './graph.js';
import type { ModuleEdge } from './import-rules.js';
import type { Violation } from './violation.js';
import type { Workspace } from './workspace.js';

/**
 * What modules actually use of each other (the imports crossing modules)
 * against what their module.json declares: an undeclared use, a synchronous
 * call declared as events only, and cycles between modules.
 */
export function dependencyRules(workspace: Workspace, edges: readonly ModuleEdge[]): Violation[] {
  return [...undeclared(workspace, edges), ...callsDeclaredAsEvents(workspace, edges), ...moduleCycles(edges)];
}

function undeclared(workspace: Workspace, edges: readonly ModuleEdge[]): Violation[] {
  const violations = new Map<string, Violation>();
  for (const edge of edges) {
    const manifest = workspace.module(edge.fromModule)?.manifest;
    if (!manifest || manifest.dependsOn.includes(edge.toModule)) continue;
    const key = `${edge.from}\0${edge.toModule}`;
    if (violations.has(key)) continue; // one per file and module it uses, at its first import
    violations.set(key, {
      rule: 'undeclared-dependency',
      file: edge.from,
      line: edge.line,
      touches: `module ${edge.toModule}`,
      what: `uses module '${edge.toModule}' (imports ${edge.to}), which src/modules/${edge.fromModule}/module.json does not declare`,
      fix: `declare it in src/modules/${edge.fromModule}/module.json: "dependsOn": { "${edge.toModule}": "calls" } (or "events" if only its events and types are used), or remove the import`,
    });
  }
  return [...violations.values()];
}

/**
 * A dependency declared "events" may use the other module's events and types,
 * not its client: importing anything the contract file exports (the contract,
 * its client type, its Inject decorator) is a synchronous use.
 */
function callsDeclaredAsEvents(workspace: Workspace, edges: readonly ModuleEdge[]): Violation[] {
  const surfaces = new Map<string, ReadonlySet<string>>();
  const surfaceOf = (module: string) => {
    if (!surfaces.has(module)) surfaces.set(module, callSurface(workspace, module));
    return surfaces.get(module)!;
  };
  const violations = new Map<string, Violation>();
  for (const edge of edges) {
    const manifest = workspace.module(edge.fromModule)?.manifest;
    if (!manifest?.events.includes(edge.toModule)) continue;
    const surface = surfaceOf(edge.toModule);
    const used = edge.names === '*' ? ['*'] : edge.names.filter((name) => surface.has(name));
    if (used.length === 0) continue;
    const key = `${edge.from}\0${edge.toModule}`;
    if (violations.has(key)) continue;
    violations.set(key, {
      rule: 'undeclared-dependency',
      file: edge.from,
      line: edge.line,
      touches: `module ${edge.toModule} (calls)`,
      what: `calls module '${edge.toModule}' synchronously (imports ${used.join(', ')} from its contract), but module.json declares "${edge.toModule}": "events"`,
      fix: `declare "${edge.toModule}": "calls" in src/modules/${edge.fromModule}/module.json (it then counts in the synchronous-chain check), or use only its events`,
    });
  }
  return [...violations.values()];
}

/** The names a module's index.ts re-exports from its contract file (the one calling defineContract). */
export function callSurface(workspace: Workspace, module: string): ReadonlySet<string> {
  const index = `src/modules/${module}/index.ts`;
  const names = new Set<string>();
  if (!workspace.files.includes(index)) return names;
  for (const statement of workspace.source(index).statements) {
    if (!ts.isExportDeclaration(statement) || !statement.moduleSpecifier || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const target = posix.join(`src/modules/${module}`, statement.moduleSpecifier.text).replace(/\.js$/, '.ts');
    if (!workspace.files.includes(target) || !workspace.read(target).includes('defineContract(')) continue;
    const clause = statement.exportClause;
    if (clause && ts.isNamedExports(clause)) clause.elements.forEach((element) => names.add(element.name.text));
    else exportedNames(workspace.source(target)).forEach((name) => names.add(name));
  }
  return names;
}

function exportedNames(source: ts.SourceFile): string[] {
  const names: string[] = [];
  for (const statement of source.statements) {
    const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (ts.isVariableStatement(statement)) {
      statement.declarationList.declarations.forEach((d) => ts.isIdentifier(d.name) && names.push(d.name.text));
    } else if ('name' in statement && statement.name && ts.isIdentifier(statement.name)) {
      names.push(statement.name.text);
    }
  }
  return names;
}

function moduleCycles(edges: readonly ModuleEdge[]): Violation[] {
  const graph = new Map<string, Set<string>>();
  for (const edge of edges) {
    if (!graph.has(edge.fromModule)) graph.set(edge.fromModule, new Set());
    graph.get(edge.fromModule)!.add(edge.toModule);
  }
  // The first import (by file, then line) of each hop witnesses it.
  const witness = (from: string, to: string) =>
    edges.filter((edge) => edge.fromModule === from && edge.toModule === to).sort((a, b) => a.from.localeCompare(b.from) || a.line - b.line)[0];
  return simpleCycles(graph as ModuleGraph).map((cycle): Violation => {
    const hops = cycle.slice(1).map((to, i) => witness(cycle[i], to));
    return {
      rule: 'module-cycle',
      file: hops[0].from,
      line: hops[0].line,
      touches: arrow(cycle),
      what: `modules depend on each other in a cycle ${arrow(cycle)} (${hops.map((hop) => `${hop.from}:${hop.line}`).join(', ')})`,
      fix: 'break one hop: have the callee publish an event the other subscribes to instead of calling back, or move what both need into the module they both depend on',
    };
  });
}
