import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Tests that cannot run on this machine (no NATS) are skipped, never dropped silently: each
 * skipped block is recorded here by the test process, and the reporter
 * (skipped-suites.reporter.js) names them, with the count of tests not run, at the END of the
 * run, after jest's summary, where nobody misses it. Plain JavaScript: the global setup and
 * the reporter load it untransformed.
 */
const VARIABLE = 'MF_SKIPPED_SUITES_DIR';

/** Global setup: a directory for this run's records, which the test processes inherit. */
export function startSkipRecording() {
  if (!process.env[VARIABLE]) process.env[VARIABLE] = mkdtempSync(join(tmpdir(), 'mf-skipped-'));
}

/** From a test file: `title` of `testPath` is skipped because `reason`. */
export function recordSkip(testPath, title, reason) {
  const dir = process.env[VARIABLE];
  if (!dir) return; // a run without the global setup (e.g. another config): the block is still skipped
  mkdirSync(dir, { recursive: true });
  const record = { testPath, title, reason };
  writeFileSync(join(dir, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`), JSON.stringify(record));
}

/** Reporter: every record of this run, and the directory gone. */
export function takeSkipRecords() {
  const dir = process.env[VARIABLE];
  if (!dir) return [];
  let records = [];
  try {
    records = readdirSync(dir).map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')));
  } catch {
    // nothing recorded
  }
  rmSync(dir, { recursive: true, force: true });
  return records;
}
