/** A directed graph of module names: `from` → the modules it reaches. */
export type ModuleGraph = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Every elementary cycle, each once: rotated to start at its smallest name and
 * listed with that name repeated at the end (`a → b → a`). Module graphs are
 * small, so a plain depth-first search is enough.
 */
export function simpleCycles(graph: ModuleGraph): string[][] {
  const cycles: string[][] = [];
  const nodes = [...graph.keys()].sort();
  for (const start of nodes) {
    const path = [start];
    const visit = (node: string) => {
      for (const next of [...(graph.get(node) ?? [])].sort()) {
        if (next === start) cycles.push([...path, start]);
        // Only through names after the start: each cycle is found from its smallest name, once.
        else if (next > start && !path.includes(next)) {
          path.push(next);
          visit(next);
          path.pop();
        }
      }
    };
    visit(start);
  }
  return cycles;
}

/** Every path of exactly `edges` edges that visits no module twice. */
export function simplePaths(graph: ModuleGraph, edges: number): string[][] {
  const paths: string[][] = [];
  const walk = (path: string[]) => {
    if (path.length === edges + 1) {
      paths.push([...path]);
      return;
    }
    for (const next of [...(graph.get(path[path.length - 1]) ?? [])].sort()) {
      if (!path.includes(next)) walk([...path, next]);
    }
  };
  for (const start of [...graph.keys()].sort()) walk([start]);
  return paths;
}

export const arrow = (names: readonly string[]): string => names.join(' → ');
