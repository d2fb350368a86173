import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './usage-error.js';
import { type Violation, violationKey } from './violation.js';

export const BASELINE_FILE = 'verify-baseline.json';

/** A known violation: rule, file and what it touched, at any line of that file (lines move with every edit). */
export interface BaselineEntry {
  readonly rule: string;
  readonly file: string;
  readonly touches: string;
  /** Line of the entry in verify-baseline.json, for the stale message. */
  readonly line: number;
}

export interface Judged {
  /** Not in the baseline: these fail. */
  readonly fresh: Violation[];
  /** In the baseline: reported, not failing. */
  readonly known: Violation[];
  /** Baseline entries that match nothing any more: these fail too, until removed. */
  readonly stale: Violation[];
}

/**
 * The adoption ratchet (like Packwerk's package_todo.yml): a legacy tree
 * records its violations once; from then on only new ones fail, and a fixed
 * one must leave the baseline, so the list only ever shrinks.
 */
export function readBaseline(root: string): BaselineEntry[] {
  const file = join(root, BASELINE_FILE);
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${BASELINE_FILE} is not valid JSON (${(error as Error).message}); rewrite it with --update-baseline`);
  }
  const entries = (parsed as { violations?: unknown })?.violations;
  const valid = (e: unknown): e is BaselineEntry =>
    typeof e === 'object' && e !== null && ['rule', 'file', 'touches'].every((k) => typeof (e as Record<string, unknown>)[k] === 'string');
  if (!Array.isArray(entries) || !entries.every(valid)) {
    throw new UsageError(`${BASELINE_FILE}: expected { "violations": [{ "rule", "file", "touches" }, ...] }; rewrite it with --update-baseline`);
  }
  const lines = text.split('\n');
  return entries.map((entry) => {
    const index = lines.findIndex((line) => line.includes(JSON.stringify(entry.file)) && line.includes(JSON.stringify(entry.touches)));
    return { rule: entry.rule, file: entry.file, touches: entry.touches, line: index + 1 || 1 };
  });
}

export function judge(violations: readonly Violation[], baseline: readonly BaselineEntry[]): Judged {
  const keys = new Set(baseline.map(violationKey));
  const seen = new Set(violations.map(violationKey));
  return {
    fresh: violations.filter((v) => !keys.has(violationKey(v))),
    known: violations.filter((v) => keys.has(violationKey(v))),
    stale: baseline
      .filter((entry) => !seen.has(violationKey(entry)))
      .map((entry): Violation => ({
        rule: 'stale-baseline',
        file: BASELINE_FILE,
        line: entry.line,
        touches: `${entry.rule} ${entry.file} ${entry.touches}`,
        what: `lists [${entry.rule}] ${entry.file} — ${entry.touches}, which no longer happens`,
        fix: `remove this entry from ${BASELINE_FILE} (or run npm run verify -- --update-baseline): it is fixed, and must stay fixed`,
      })),
  };
}

/** Writes every current violation as known, one entry a line, sorted, so diffs show what changed. */
export function writeBaseline(root: string, violations: readonly Violation[]): number {
  const entries = new Map<string, string>();
  for (const v of violations) {
    entries.set(violationKey(v), `    { "rule": ${JSON.stringify(v.rule)}, "file": ${JSON.stringify(v.file)}, "touches": ${JSON.stringify(v.touches)} }`);
  }
  const lines = [...entries].sort(([a], [b]) => a.localeCompare(b)).map(([, line]) => line);
  const text = [
    '{',
    `  "about": "Known violations of npm run verify, reported but not failing. Fix them and remove their entries; rewrite with: npm run verify -- --update-baseline",`,
    lines.length === 0 ? '  "violations": []' : `  "violations": [\n${lines.join(',\n')}\n  ]`,
    '}',
    '',
  ].join('\n');
  writeFileSync(join(root, BASELINE_FILE), text);
  return lines.length;
}
