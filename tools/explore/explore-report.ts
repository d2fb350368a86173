import type { ScheduleResult } from './explore-run.js';
import { formatSchedule } from './explore-schedule.js';

export interface ExploreTotals {
  readonly schedules: number;
  readonly faultsByKind: Readonly<Record<string, number>>;
  readonly requests: number;
  readonly ordersAcknowledged: number;
  readonly cancellationsAccepted: number;
  readonly checksRun: number;
  readonly checksPassed: number;
  readonly failures: readonly ScheduleResult[];
}

export function totals(results: readonly ScheduleResult[]): ExploreTotals {
  const faultsByKind: Record<string, number> = {};
  for (const r of results) for (const f of r.faults.filter((f) => f.injected)) faultsByKind[f.event.kind] = (faultsByKind[f.event.kind] ?? 0) + 1;
  const checks = results.flatMap((r) => r.checks);
  return {
    schedules: results.length,
    faultsByKind,
    requests: results.reduce((n, r) => n + Object.values(r.workload?.sent ?? {}).reduce((a, b) => a + b, 0), 0),
    ordersAcknowledged: results.reduce((n, r) => n + (r.workload?.acknowledged.length ?? 0), 0),
    cancellationsAccepted: results.reduce((n, r) => n + (r.workload?.cancellations.length ?? 0), 0),
    checksRun: checks.length,
    checksPassed: checks.filter((c) => c.violations.length === 0).length,
    failures: results.filter((r) => !r.ok),
  };
}

/** What one failed schedule broke, to replay: the command, the schedule, each violation. */
export function describeFailure(result: ScheduleResult): string {
  const lines = [
    `FAILED: seed ${result.schedule.seed} on ${result.schedule.topology} (replay: npm run explore -- --seed ${result.schedule.seed} --topology ${result.schedule.topology} --load ${result.schedule.loadMs / 1000}s)`,
    formatSchedule(result.schedule),
  ];
  if (result.error) lines.push(`  the run itself failed: ${result.error}`);
  for (const check of result.checks.filter((c) => c.violations.length > 0)) {
    lines.push(`  violated: ${check.name}`);
    for (const v of check.violations.slice(0, 5)) lines.push(`    - ${v.length > 1500 ? `${v.slice(0, 1500)} ...` : v}`);
  }
  return lines.join('\n');
}

/** The table printed at the end of every run. */
export function formatReport(t: ExploreTotals, elapsedMs: number): string {
  const rows: Array<[string, string]> = [
    ['schedules run', String(t.schedules)],
    [
      'faults injected',
      Object.keys(t.faultsByKind).length
        ? Object.entries(t.faultsByKind)
            .sort()
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')
        : 'none',
    ],
    ['requests sent', String(t.requests)],
    ['orders acknowledged', String(t.ordersAcknowledged)],
    ['cancellations accepted', String(t.cancellationsAccepted)],
    ['invariant checks run', String(t.checksRun)],
    ['invariant checks passed', String(t.checksPassed)],
    ['failures', t.failures.length ? t.failures.map((f) => `seed ${f.schedule.seed} (${f.schedule.topology})`).join(', ') : 'none'],
    ['elapsed', `${(elapsedMs / 1000).toFixed(0)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}
