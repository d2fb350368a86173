import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASELINE_FILE, judge, readBaseline, writeBaseline } from './baseline.js';
import type { ContractChange } from './contract-compat.js';
import { describeChange, UPDATE_CONTRACTS } from './contract-rules.js';
import { SNAPSHOT_FILE } from './contract-snapshot.js';
import type { Violation } from './violation.js';
import { formatReport } from './report.js';
import { DEFAULT_MAX_SYNC_DEPTH } from './sync-chains.js';
import { UsageError } from './usage-error.js';
import { verify } from './verify.js';

const USAGE = 'usage: npm run verify -- [--root <dir>] [--max-sync-depth <n>] [--update-baseline] [--update-contracts] [--strict-contracts]';

const HELP = `${USAGE}

Checks the module boundaries of the tree (imports, declared dependencies, data ownership, raw SQL,
Nest exports, buses, synchronous chains) and its contracts against contracts.snapshot.json.
Exit 0: no new violation; 1: violations (each with its rule, file:line and the fix); 2: bad usage.

  --root <dir>           the repository to check (default: this one)
  --max-sync-depth <n>   the longest chain of synchronous calls allowed (default ${DEFAULT_MAX_SYNC_DEPTH})
  --update-baseline      write verify-baseline.json with today's violations (known ones do not fail)
  --update-contracts     record the contracts as they are now in contracts.snapshot.json
  --strict-contracts     fail on compatible contract changes not recorded yet, too (a release branch)`;

/** dist/tools/verify/ → the repository root. */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface CliOptions {
  root: string;
  maxSyncDepth: number;
  updateBaseline: boolean;
  updateContracts: boolean;
  /** Fail on compatible contract changes not recorded yet too (e.g. on a release branch). */
  strictContracts: boolean;
}

function parseArgs(argv: readonly string[], print: (text: string) => void): CliOptions | 'help' {
  const options: CliOptions = {
    root: REPO_ROOT,
    maxSyncDepth: DEFAULT_MAX_SYNC_DEPTH,
    updateBaseline: false,
    updateContracts: false,
    strictContracts: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${arg} needs a value (${USAGE})`);
      return next;
    };
    if (arg === '--root') options.root = resolve(value());
    else if (arg === '--update-baseline') options.updateBaseline = true;
    else if (arg === '--update-contracts') options.updateContracts = true;
    else if (arg === '--strict-contracts') options.strictContracts = true;
    else if (arg === '--max-sync-depth') {
      const raw = value();
      if (!/^[1-9]\d{0,2}$/.test(raw)) throw new UsageError(`--max-sync-depth expects a positive integer, got '${raw}'`);
      options.maxSyncDepth = Number(raw);
    } else if (arg === '--help' || arg === '-h') {
      print(HELP);
      return 'help';
    } else throw new UsageError(`unknown option '${arg}' (${USAGE})`);
  }
  return options;
}

/**
 * `npm run verify` with the given arguments, printing with `print`: the exit code (0 ok, 1
 * violations); throws UsageError on bad usage. The CLI is this and nothing else, so a test may run
 * it in one process for many trees, paying for loading TypeScript and dependency-cruiser once.
 */
export async function runVerify(argv: readonly string[], print: (text: string) => void, startedAt = 0): Promise<number> {
  const options = parseArgs(argv, print);
  if (options === 'help') return 0;
  const baseline = readBaseline(options.root);
  const result = await verify({ root: options.root, maxSyncDepth: options.maxSyncDepth, updateContracts: options.updateContracts });
  const { contracts } = result;
  if (contracts.recorded) print(formatRecorded(contracts.recorded.changes, Object.keys(contracts.recorded.contracts).length));
  if (options.updateBaseline) {
    const count = writeBaseline(options.root, result.violations);
    print(`verify: wrote ${BASELINE_FILE} with ${count} known violation${count === 1 ? '' : 's'}`);
    return 0;
  }
  const judged = judge(result.violations, baseline);
  // Contract breaks are never baselined: an intended one is accepted into the snapshot.
  const unrecorded = options.strictContracts ? contracts.compatible.map(unrecordedViolation) : [];
  const fresh = [...judged.fresh, ...contracts.violations, ...unrecorded];
  const notices = options.strictContracts
    ? []
    : contracts.compatible.map((change) => `contract changed compatibly: ${describeChange(change)} — run ${UPDATE_CONTRACTS} to record it`);
  // From `startedAt`: the CLI passes 0, the process start, so the time includes loading TypeScript and dependency-cruiser.
  print(
    formatReport({ ...judged, fresh }, { modules: result.workspace.modules.length, files: result.filesCruised, ms: performance.now() - startedAt }, notices),
  );
  return fresh.length + judged.stale.length > 0 ? 1 : 0;
}

function formatRecorded(changes: readonly ContractChange[], modules: number): string {
  if (changes.length === 0) return `verify: ${SNAPSHOT_FILE} already records the contracts of the ${modules} modules`;
  const breaking = changes.filter((c) => c.breaking).length;
  const lines = changes.map((c) => `  ${c.breaking ? 'breaking' : 'compatible'}: ${describeChange(c)}`);
  return [
    `verify: wrote ${SNAPSHOT_FILE} (${modules} modules), recording ${changes.length} change${changes.length === 1 ? '' : 's'} (${breaking} breaking):`,
    ...lines,
  ].join('\n');
}

function unrecordedViolation(change: ContractChange): Violation {
  return {
    rule: 'contract-unrecorded',
    file: SNAPSHOT_FILE,
    line: 1,
    touches: `${change.module} ${change.subject} ${change.where}`.trim(),
    what: `${describeChange(change)}: a compatible change the snapshot does not record`,
    fix: `record it: ${UPDATE_CONTRACTS}`,
  };
}
