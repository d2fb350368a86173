import { arrow, type ModuleGraph, simpleCycles, simplePaths } from './graph.js';
import type { Violation } from './violation.js';
import type { Workspace } from './workspace.js';

export const DEFAULT_MAX_SYNC_DEPTH = 2;

/** The declared synchronous calls (module.json, "calls"): who waits on whom. */
export function callGraph(workspace: Workspace): ModuleGraph {
  return new Map(workspace.modules.map((module) => [module.name, new Set((module.manifest?.calls ?? []).filter((dep) => workspace.moduleNames.has(dep)))]));
}

/**
 * Every synchronous hop adds a process that must be up and a latency that
 * adds up once modules are extracted: a chain of more than `maxDepth` calls,
 * or any cycle of calls (which can deadlock or recurse), is a violation.
 */
export function syncChainRules(workspace: Workspace, maxDepth: number): Violation[] {
  const graph = callGraph(workspace);
  const at = (chain: readonly string[]) => ({
    file: workspace.module(chain[0])!.manifestFile,
    line: workspace.manifestLine(chain[0], chain[1]),
  });
  const cycles = simpleCycles(graph).map((cycle): Violation => ({
    rule: 'sync-cycle',
    ...at(cycle),
    touches: arrow(cycle),
    what: `modules call each other synchronously in a cycle ${arrow(cycle)}`,
    fix: 'one of them must stop waiting on the other: turn that call into an event it publishes or subscribes to (declare the dependency "events")',
  }));
  const chains = simplePaths(graph, maxDepth + 1).map((chain): Violation => ({
    rule: 'sync-chain-depth',
    ...at(chain),
    touches: arrow(chain),
    what: `a synchronous call chain of ${chain.length - 1} hops, over the limit of ${maxDepth}: ${arrow(chain)}`,
    fix: `shorten it: replace one of these calls by an event (declare it "events"), or let '${chain[0]}' call what it needs directly; raise --max-sync-depth only if the chain is meant`,
  }));
  return [...cycles, ...chains];
}
