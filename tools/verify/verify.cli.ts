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

function parseArgs(argv: readonly string[]): CliOptions {
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
      console.log(USAGE);
      process.exit(0);
    } else throw new UsageError(`unknown option '${arg}' (${USAGE})`);
  }
  return options;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const baseline = readBaseline(options.root);
  const result = await verify({ root: options.root, maxSyncDepth: options.maxSyncDepth, updateContracts: options.updateContracts });
  const { contracts } = result;
  if (contracts.recorded) console.log(formatRecorded(contracts.recorded.changes, Object.keys(contracts.recorded.contracts).length));
  if (options.updateBaseline) {
    const count = writeBaseline(options.root, result.violations);
    console.log(`verify: wrote ${BASELINE_FILE} with ${count} known violation${count === 1 ? '' : 's'}`);
    return 0;
  }
  const judged = judge(result.violations, baseline);
  // Contract breaks are never baselined: an intended one is accepted into the snapshot.
  const unrecorded = options.strictContracts ? contracts.compatible.map(unrecordedViolation) : [];
  const fresh = [...judged.fresh, ...contracts.violations, ...unrecorded];
  const notices = options.strictContracts
    ? []
    : contracts.compatible.map((change) => `contract changed compatibly: ${describeChange(change)} — run ${UPDATE_CONTRACTS} to record it`);
  // performance.now() counts from process start: the time reported includes loading TypeScript and dependency-cruiser.
  console.log(
    formatReport({ ...judged, fresh }, { modules: result.workspace.modules.length, files: result.filesCruised, ms: performance.now() }, notices),
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

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`verify: ${error.message}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(3);
  },
);
