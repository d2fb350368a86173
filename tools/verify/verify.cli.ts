import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASELINE_FILE, judge, readBaseline, writeBaseline } from './baseline.js';
import { formatReport } from './report.js';
import { DEFAULT_MAX_SYNC_DEPTH } from './sync-chains.js';
import { UsageError } from './usage-error.js';
import { verify } from './verify.js';

const USAGE = 'usage: npm run verify -- [--root <dir>] [--max-sync-depth <n>] [--update-baseline]';

/** dist/tools/verify/ → the repository root. */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface CliOptions {
  root: string;
  maxSyncDepth: number;
  updateBaseline: boolean;
}

function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { root: REPO_ROOT, maxSyncDepth: DEFAULT_MAX_SYNC_DEPTH, updateBaseline: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${arg} needs a value (${USAGE})`);
      return next;
    };
    if (arg === '--root') options.root = resolve(value());
    else if (arg === '--update-baseline') options.updateBaseline = true;
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
  const result = await verify({ root: options.root, maxSyncDepth: options.maxSyncDepth });
  if (options.updateBaseline) {
    const count = writeBaseline(options.root, result.violations);
    console.log(`verify: wrote ${BASELINE_FILE} with ${count} known violation${count === 1 ? '' : 's'}`);
    return 0;
  }
  const judged = judge(result.violations, baseline);
  // performance.now() counts from process start: the time reported includes loading TypeScript and dependency-cruiser.
  console.log(
    formatReport(judged, { modules: result.workspace.modules.length, files: result.filesCruised, ms: performance.now() }),
  );
  return judged.fresh.length + judged.stale.length > 0 ? 1 : 0;
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
