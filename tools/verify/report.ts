import { BASELINE_FILE, type Judged } from './baseline.js';
import { byLocation, type Violation } from './violation.js';

/** One block per violation: `[rule] file:line — what it touched — how to fix`. */
export function formatViolation(v: Violation): string {
  return `[${v.rule}] ${v.file}:${v.line} — ${v.what} — ${v.fix}`;
}

/** `notices`: lines reported without failing (compatible contract changes not recorded yet), before the verdict. */
export function formatReport(judged: Judged, stats: { modules: number; files: number; ms: number }, notices: readonly string[] = []): string {
  const failing = [...judged.fresh, ...judged.stale].sort(byLocation);
  const out: string[] = [];
  for (const v of failing) out.push(formatViolation(v), '');
  if (notices.length > 0) out.push(...notices, '');
  if (judged.known.length > 0) {
    out.push(`known violations, listed in ${BASELINE_FILE} (not failing; fix them and remove their entries):`);
    for (const v of [...judged.known].sort(byLocation)) out.push(`  ${formatViolation(v)}`);
    out.push('');
  }
  const counts = [
    `${judged.fresh.length} violation${judged.fresh.length === 1 ? '' : 's'}`,
    `${judged.stale.length} stale baseline entr${judged.stale.length === 1 ? 'y' : 'ies'}`,
    `${judged.known.length} known`,
  ].join(', ');
  const verdict = failing.length > 0 ? 'FAILED' : 'ok';
  out.push(`verify: ${verdict}: ${counts} (${stats.modules} modules, ${stats.files} files, ${(stats.ms / 1000).toFixed(1)} s)`);
  return out.join('\n');
}
