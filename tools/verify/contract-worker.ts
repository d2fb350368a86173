import { parentPort, workerData } from 'node:worker_threads';
import { checkContracts } from './contract-rules.js';
import { UsageError } from './usage-error.js';
import { Workspace } from './workspace.js';

/**
 * The contract gate in a thread of its own (see runContractCheck): it imports
 * the tree's contract sources, with a module hook of its own, and type-checks
 * their results, while the main thread runs dependency-cruiser.
 */
const { root, update } = workerData as { root: string; update: boolean };
const start = performance.now();
try {
  const check = await checkContracts(new Workspace(root), update);
  parentPort!.postMessage({ check, ms: performance.now() - start });
} catch (error) {
  parentPort!.postMessage({ error: (error as Error).message, usage: error instanceof UsageError, stack: (error as Error).stack });
}
