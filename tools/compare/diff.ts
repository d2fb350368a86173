import type { FinalState } from './final-state.js';
import type { NormalisedEntry } from './normalise.js';

/** One way in which a topology's run differs from the reference's: where, which field, expected vs got. */
export interface Difference {
  /** "#23 GET /orders/<id4> (decline: the order)" or "state orders[<id4>]". */
  readonly where: string;
  /** The field inside it, e.g. "status", "body.failureReason", "" for the whole entry. */
  readonly path: string;
  readonly expected: unknown;
  readonly got: unknown;
}

export interface EquivalenceRun {
  readonly transcript: readonly NormalisedEntry[];
  readonly state: FinalState;
}

/** Every difference of `got` from `reference`: what the client saw, request by request, then the final state, row by row. */
export function diffRuns(reference: EquivalenceRun, got: EquivalenceRun): Difference[] {
  const differences: Difference[] = [];
  const length = Math.max(reference.transcript.length, got.transcript.length);
  for (let i = 0; i < length; i++) {
    const a = reference.transcript[i];
    const b = got.transcript[i];
    const where = `#${a?.n ?? b?.n} ${(a ?? b).request} (${(a ?? b).label})`;
    if (!a || !b) {
      differences.push({ where, path: '', expected: a ? 'this step' : 'no step', got: b ? 'this step' : 'no step' });
      continue;
    }
    if (a.request !== b.request) differences.push({ where, path: 'request', expected: a.request, got: b.request });
    if (a.status !== b.status) {
      // Another status is another kind of answer: its body differs as a whole, not field by field.
      differences.push({ where, path: 'status', expected: a.status, got: b.status });
      if (JSON.stringify(a.body) !== JSON.stringify(b.body)) differences.push({ where, path: 'body', expected: a.body, got: b.body });
      continue;
    }
    deepDiff(a.headers, b.headers, 'headers', (path, expected, got) => differences.push({ where, path, expected, got }));
    deepDiff(a.body, b.body, 'body', (path, expected, got) => differences.push({ where, path, expected, got }));
  }
  for (const table of union(Object.keys(reference.state), Object.keys(got.state))) {
    const rowsA = reference.state[table] ?? {};
    const rowsB = got.state[table] ?? {};
    for (const key of union(Object.keys(rowsA), Object.keys(rowsB))) {
      const where = `state ${table}[${key}]`;
      if (!(key in rowsA)) differences.push({ where, path: '', expected: 'no row', got: rowsB[key] });
      else if (!(key in rowsB)) differences.push({ where, path: '', expected: rowsA[key], got: 'no row' });
      else deepDiff(rowsA[key], rowsB[key], '', (path, expected, got) => differences.push({ where, path, expected, got }));
    }
  }
  return differences;
}

/**
 * Reports each leaf that differs. Arrays of plain values (a saga's steps) are
 * reported whole when they differ, so that one extra entry reads as one
 * difference, not as every entry after it shifted.
 */
export function deepDiff(a: unknown, b: unknown, path: string, report: (path: string, expected: unknown, got: unknown) => void): void {
  if (Object.is(a, b)) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    const plain = [...(a as unknown[]), ...(b as unknown[])].every((x) => x === null || typeof x !== 'object');
    if (plain) {
      if (JSON.stringify(a) !== JSON.stringify(b)) report(path, a, b);
      return;
    }
    // Objects (a saga log's entries): entry by entry, an entry only one side has as absent on the other.
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length) report(`${path}[${i}]`, '(absent)', b[i]);
      else if (i >= b.length) report(`${path}[${i}]`, a[i], '(absent)');
      else deepDiff(a[i], b[i], `${path}[${i}]`, report);
    }
    return;
  }
  if (isObject(a) && isObject(b)) {
    for (const key of union(Object.keys(a), Object.keys(b))) {
      const sub = path ? `${path}.${key}` : key;
      if (!(key in a)) report(sub, '(absent)', b[key]);
      else if (!(key in b)) report(sub, a[key], '(absent)');
      else deepDiff(a[key], b[key], sub, report);
    }
    return;
  }
  report(path, a, b);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** A value as one short line for a report. */
export function show(value: unknown, max = 240): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** "#23 GET /orders/<id4> (decline: the order) body.status: expected "CANCELLED", got "CONFIRMED"". */
export function describe(difference: Difference): string {
  return `${difference.where}${difference.path ? ` ${difference.path}` : ''}: expected ${show(difference.expected)}, got ${show(difference.got)}`;
}
