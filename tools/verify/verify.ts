import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type ContractCheck, runContractCheck } from './contract-rules.js';
import { dependencyRules } from './dependency-rules.js';
import { busRules } from './bus-rules.js';
import { analyseImports } from './import-rules.js';
import { nestRules } from './nest-rules.js';
import { schemaRules } from './schema-rules.js';
import { sqlRules } from './sql-rules.js';
import { DEFAULT_MAX_SYNC_DEPTH, syncChainRules } from './sync-chains.js';
import { UsageError } from './usage-error.js';
import type { Violation } from './violation.js';
import { Workspace } from './workspace.js';

export interface VerifyOptions {
  readonly root: string;
  readonly maxSyncDepth?: number;
  /** Rewrite contracts.snapshot.json to the tree's contracts instead of comparing with it. */
  readonly updateContracts?: boolean;
}

export interface VerifyResult {
  readonly workspace: Workspace;
  readonly violations: Violation[];
  /** The contract compatibility gate: its violations are not baselined (a change is accepted by --update-contracts). */
  readonly contracts: ContractCheck;
  readonly filesCruised: number;
  /** Milliseconds per phase, for the benchmark. */
  readonly timings: Readonly<Record<string, number>>;
}

/** Runs every rule on the tree at `root`; the baseline is applied by the caller. */
export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  if (!existsSync(join(options.root, 'src', 'modules'))) {
    throw new UsageError(`no src/modules/ under ${options.root}: --root must be the repository root`);
  }
  const timings: Record<string, number> = {};
  const timed = async <T>(phase: string, run: () => T | Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await run();
    } finally {
      timings[phase] = performance.now() - start;
    }
  };
  // Started first: it runs in its own thread beside the rules below.
  const contractRun = runContractCheck(options.root, options.updateContracts ?? false);
  contractRun.catch(() => undefined); // awaited below; a rejection before then is not unhandled
  const workspace = await timed('discover', () => new Workspace(options.root));
  const imports = await timed('imports (dependency-cruiser)', () => analyseImports(workspace));
  const dependencies = await timed('declared dependencies', () => dependencyRules(workspace, imports.edges));
  const schemas = await timed('entity schemas', () => schemaRules(workspace));
  const sql = await timed('raw SQL', () => sqlRules(workspace));
  const nest = await timed('Nest exports', () => nestRules(workspace));
  const buses = await timed('buses', () => busRules(workspace));
  const chains = await timed('sync chains', () => syncChainRules(workspace, options.maxSyncDepth ?? DEFAULT_MAX_SYNC_DEPTH));
  const { check: contracts, ms } = await timed('contracts: waited for', () => contractRun);
  timings['contracts: worker, overlapping the rest'] = ms;
  return {
    contracts,
    workspace,
    violations: [...workspace.problems, ...imports.violations, ...dependencies, ...schemas, ...sql, ...nest, ...buses, ...chains],
    filesCruised: imports.filesCruised,
    timings,
  };
}
