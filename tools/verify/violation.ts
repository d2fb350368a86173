/** The rules `npm run verify` enforces; each violation names one. */
export type RuleName =
  | 'module-manifest'
  | 'deep-import'
  | 'platform-imports-module'
  | 'public-face'
  | 'platform-internal-import'
  | 'platform-layering'
  | 'composition-root-import'
  | 'module-cycle'
  | 'undeclared-dependency'
  | 'entity-schema'
  | 'foreign-schema-sql'
  | 'nest-exports'
  | 'bus-access'
  | 'sync-chain-depth'
  | 'sync-cycle'
  | 'stale-baseline'
  | 'contract-breaking'
  | 'contract-unreadable'
  | 'workflow-unreadable'
  | 'contract-snapshot'
  | 'contract-unrecorded';

export interface Violation {
  readonly rule: RuleName;
  /** Repository-relative, with forward slashes. */
  readonly file: string;
  readonly line: number;
  /**
   * What was touched, in a form that survives edits elsewhere in the file
   * (no line numbers): with `rule` and `file` it is the baseline key.
   */
  readonly touches: string;
  /** What it touched, for a person. */
  readonly what: string;
  /** How to fix it. */
  readonly fix: string;
}

/** The identity of a violation in the baseline: rule, file and what it touched, never the line. */
export function violationKey(v: { rule: string; file: string; touches: string }): string {
  return JSON.stringify([v.rule, v.file, v.touches]);
}

export function byLocation(a: Violation, b: Violation): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule) || a.touches.localeCompare(b.touches);
}
