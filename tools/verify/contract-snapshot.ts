import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Contracts, sorted } from './contract-model.js';
import { UsageError } from './usage-error.js';

export const SNAPSHOT_FILE = 'contracts.snapshot.json';

const REWRITE = 'rewrite it with npm run verify -- --update-contracts';

export interface Snapshot {
  readonly contracts: Contracts;
  /** The snapshot's lines, to point at an entry. */
  readonly lines: readonly string[];
}

/** The recorded contracts, or undefined when there is no snapshot yet. Anything unreadable is one line (UsageError). */
export function readSnapshot(root: string): Snapshot | undefined {
  const file = join(root, SNAPSHOT_FILE);
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${SNAPSHOT_FILE} is not valid JSON (${(error as Error).message}); ${REWRITE}`);
  }
  const problem = invalid(parsed);
  if (problem) throw new UsageError(`${SNAPSHOT_FILE}: ${problem}; ${REWRITE}`);
  return { contracts: (parsed as { modules: Contracts }).modules, lines: text.split('\n') };
}

/** Sorted keys, two-space indent, one field a line: a changed field is a one-line diff. */
export function writeSnapshot(root: string, contracts: Contracts): void {
  const text = JSON.stringify(
    {
      about:
        'The contracts of the last release, compared by npm run verify: a change that breaks a consumer of these fails. Record intended changes with: npm run verify -- --update-contracts',
      modules: sorted(contracts),
    },
    null,
    2,
  );
  writeFileSync(join(root, SNAPSHOT_FILE), `${text}\n`);
}

/** The line of an entry: `"<module>"`, then `"<key>"` below it, then `"<name>"` below that (1 when not found). */
export function snapshotLine(snapshot: Snapshot | undefined, module: string, key?: 'operations' | 'events', name?: string): number {
  if (!snapshot) return 1;
  let index = snapshot.lines.findIndex((line) => line.startsWith(`    ${JSON.stringify(module)}: {`));
  for (const [needle, indent] of [
    [key, 6],
    [name, 8],
  ] as const) {
    if (index < 0 || needle === undefined) break;
    const found = snapshot.lines.findIndex((line, i) => i > index && line.startsWith(`${' '.repeat(indent)}${JSON.stringify(needle)}: {`));
    if (found < 0) break;
    index = found;
  }
  return index + 1 || 1;
}

function invalid(parsed: unknown): string | undefined {
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject(parsed) || !isObject(parsed.modules)) return 'expected { "modules": { "<module>": { "operations": {...}, "events": {...} } } }';
  for (const [module, contract] of Object.entries(parsed.modules)) {
    if (!isObject(contract) || !isObject(contract.operations) || !isObject(contract.events)) {
      return `module ${JSON.stringify(module)} needs "operations" and "events" objects`;
    }
    for (const [name, op] of Object.entries(contract.operations)) {
      if (
        !isObject(op) ||
        !['command', 'query'].includes(op.kind as string) ||
        typeof op.idempotent !== 'boolean' ||
        !isObject(op.input) ||
        !isObject(op.output)
      ) {
        return `operation ${module}.${name} needs "kind" (command or query), "idempotent", "input" and "output"`;
      }
    }
    for (const [name, event] of Object.entries(contract.events)) {
      if (!isObject(event) || !Number.isInteger(event.version) || !isObject(event.payload)) {
        return `event ${name} of ${module} needs an integer "version" and a "payload"`;
      }
    }
  }
  return undefined;
}
