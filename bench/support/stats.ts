import { mean, percentile } from '../../tools/support/stats.js';

export { mean, percentile };

/** Prints rows as an aligned plain-text table (also valid Markdown). */
export function printTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): void {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (typeof cell === 'number' ? format(cell) : cell)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => String(row[i]).length)));
  const line = (row: ReadonlyArray<string | number>) => `| ${row.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ')} |`;
  console.log(line(cells[0]));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const row of cells.slice(1)) console.log(line(row));
}

function format(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (Number.isInteger(value)) return String(value);
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** `--name value` from argv, else the fallback. */
export function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`bench: --${name} expects a positive number`);
    process.exit(1);
  }
  return value;
}

/** Two-sided 95% critical values of Student's t, by degrees of freedom (1-30); 1.96 beyond. */
const T95 = [
  12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069,
  2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * The mean of independent samples and its 95% confidence interval (Student's
 * t): how far the mean of this few could be from the one more runs would give.
 * NaN bounds for fewer than two samples.
 */
export function meanWithConfidence(samples: readonly number[]): { mean: number; low: number; high: number } {
  const m = mean(samples);
  if (samples.length < 2) return { mean: m, low: Number.NaN, high: Number.NaN };
  const variance = samples.reduce((sum, x) => sum + (x - m) ** 2, 0) / (samples.length - 1);
  const t = T95[samples.length - 2] ?? 1.96;
  const half = t * Math.sqrt(variance / samples.length);
  return { mean: m, low: m - half, high: m + half };
}
