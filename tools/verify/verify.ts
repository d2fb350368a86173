import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dependencyRules } from './dependency-rules.js';
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
}

export interface VerifyResult {
  readonly workspace: Workspace;
  readonly violations: Violation[];
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
  const workspace = await timed('discover', () => new Workspace(options.root));
  const imports = await timed('imports (dependency-cruiser)', () => analyseImports(workspace));
  const dependencies = await timed('declared dependencies', () => dependencyRules(workspace, imports.edges));
  const schemas = await timed('entity schemas', () => schemaRules(workspace));
  const sql = await timed('raw SQL', () => sqlRules(workspace));
  const nest = await timed('Nest exports', () => nestRules(workspace));
  const chains = await timed('sync chains', () => syncChainRules(workspace, options.maxSyncDepth ?? DEFAULT_MAX_SYNC_DEPTH));
  return {
    workspace,
    violations: [...workspace.problems, ...imports.violations, ...dependencies, ...schemas, ...sql, ...nest, ...chains],
    filesCruised: imports.filesCruised,
    timings,
  };
}
