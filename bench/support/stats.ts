/** Summaries of repeated timings, in milliseconds. */
export interface Summary {
  readonly name: string;
  readonly runs: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly min: number;
  readonly mean: number;
}

export function summarise(name: string, samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    name,
    runs: sorted.length,
    p50: percentile(sorted, 50),
    // Nearest rank: with fewer than 100 runs this is the slowest run.
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    min: sorted[0] ?? NaN,
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** A plain-text table, one row a case, numbers in ms. */
export function formatTable(rows: readonly Summary[]): string {
  const header = ['case', 'runs', 'p50 ms', 'p99 ms', 'max ms', 'min ms', 'mean ms'];
  const body = rows.map((row) => [
    row.name,
    String(row.runs),
    ...[row.p50, row.p99, row.max, row.min, row.mean].map((value) => value.toFixed(0)),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line)].join('\n');
}
