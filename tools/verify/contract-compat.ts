import type { Contracts, EventContract, OperationContract, Shape } from './contract-model.js';

/**
 * What changed between the recorded contracts (the previous release) and the
 * tree's, and whether a consumer of the previous release still works:
 * - an input must accept everything it accepted (a caller of the previous
 *   release sends what it sent; unknown properties are a 400 here);
 * - an output, and an event payload, must only give what consumers of the
 *   previous release can read (every field they read, no value they cannot
 *   expect: a v1 subscriber validates a v2 payload with its v1 class).
 * So the same comparison runs in two directions: `in` (new ⊇ old) and
 * `out` (new ⊆ old, fields may be added).
 */
export interface ContractChange {
  readonly module: string;
  /** `operation placeOrder`, `event orders.OrderConfirmed`, `module notifications`. */
  readonly subject: string;
  /** `input field items[].quantity`, `output`, `payload field reason`; empty for the subject itself. */
  readonly where: string;
  readonly what: string;
  readonly breaking: boolean;
  /** How to fix a breaking change (accepting it with --update-contracts is always the other way out). */
  readonly fix?: string;
}

type Direction = 'in' | 'out';

interface Difference {
  readonly path: string;
  readonly what: string;
  readonly breaking: boolean;
  readonly fix?: string;
}

export function compareContracts(before: Contracts, after: Contracts): ContractChange[] {
  const changes: ContractChange[] = [];
  for (const module of union(Object.keys(before), Object.keys(after))) {
    const old = before[module];
    const now = after[module];
    const change = (subject: string, where: string, what: string, breaking: boolean, fix?: string) =>
      changes.push({ module, subject, where, what, breaking, fix });
    if (!now) {
      change(
        `module ${module}`,
        '',
        'removed, with all its operations and events',
        true,
        'restore the module (its consumers of the previous release still call it)',
      );
      continue;
    }
    if (!old) {
      change(`module ${module}`, '', `added (${count(now.operations, 'operation')}, ${count(now.events, 'event')})`, false);
      continue;
    }
    for (const name of union(Object.keys(old.operations), Object.keys(now.operations))) {
      operation(old.operations[name], now.operations[name], (where, what, breaking, fix) => change(`operation ${name}`, where, what, breaking, fix));
    }
    for (const name of union(Object.keys(old.events), Object.keys(now.events))) {
      event(old.events[name], now.events[name], (where, what, breaking, fix) => change(`event ${name}`, where, what, breaking, fix));
    }
  }
  return changes;
}

type Report = (where: string, what: string, breaking: boolean, fix?: string) => void;

function operation(old: OperationContract | undefined, now: OperationContract | undefined, report: Report): void {
  if (!now) return report('', 'removed', true, 'restore it: callers of the previous release still call it (deprecate it first, remove it once none does)');
  if (!old) return report('', `added (${now.kind})`, false);
  if (old.kind !== now.kind) report('', `became a ${now.kind} (was a ${old.kind})`, false);
  if (old.idempotent && !now.idempotent) {
    report('', 'is no longer idempotent', true, 'keep it idempotent: callers of the previous release retry it after a timeout');
  } else if (!old.idempotent && now.idempotent) report('', 'became idempotent', false);
  for (const d of compareShapes(old.input, now.input, 'in')) report(where('input', d.path), d.what, d.breaking, d.fix);
  for (const d of compareShapes(old.output, now.output, 'out')) report(where('output', d.path), d.what, d.breaking, d.fix);
}

function event(old: EventContract | undefined, now: EventContract | undefined, report: Report): void {
  if (!now) return report('', `removed (was version ${old!.version})`, true, 'restore it: subscribers of the previous release still wait for it');
  if (!old) return report('', `added (version ${now.version})`, false);
  const differences = compareShapes(old.payload, now.payload, 'out');
  if (now.version < old.version) {
    return report('', `version lowered from ${old.version} to ${now.version}`, true, `restore version ${old.version} or higher: versions only go up`);
  }
  if (now.version === old.version) {
    for (const d of differences) {
      report(
        where('payload', d.path),
        `${d.what}, without a version bump`,
        true,
        `bump the version in @IntegrationEvent to ${old.version + 1} (keeping every field of version ${old.version}), or undo the change`,
      );
    }
    return;
  }
  report('', `version ${old.version} -> ${now.version}`, false);
  for (const d of differences) {
    report(
      where('payload', d.path),
      `${d.what} in version ${now.version}`,
      d.breaking,
      d.breaking
        ? `subscribers of version ${old.version} read version ${now.version}: keep every field of version ${old.version} as it was, only add fields`
        : undefined,
    );
  }
}

function where(part: string, path: string): string {
  return path === '' ? part : `${part} field ${path}`;
}

/** Every difference between two shapes, and whether it breaks a consumer in that direction. */
export function compareShapes(old: Shape, now: Shape, direction: Direction, path = ''): Difference[] {
  const out: Difference[] = [];
  const diff = (what: string, breaking: boolean, fix?: string) => out.push({ path, what, breaking, fix });
  const input = direction === 'in';
  if (old.type !== now.type) {
    if (!typeWidens(old.type, now.type, direction)) {
      diff(
        `type changed from ${describe(old)} to ${describe(now)}`,
        true,
        input ? 'accept the old type too (or add a new field for the new type)' : 'keep the old type (add a new field for the new one)',
      );
      return out;
    }
    diff(`type changed from ${describe(old)} to ${describe(now)}`, false);
  }
  if (old.$ref !== now.$ref) diff(`refers to ${now.$ref ?? 'an expanded type'} (was ${old.$ref ?? 'an expanded type'})`, true);
  if (JSON.stringify(old.anyOf) !== JSON.stringify(now.anyOf)) diff('union of shapes changed', true);

  // null: accepting it loosens an input; giving it breaks an output's readers.
  if (!!old.nullable !== !!now.nullable) {
    const loosens = !!now.nullable;
    diff(
      loosens ? (input ? 'now accepts null' : 'may now be null') : input ? 'no longer accepts null' : 'is no longer null',
      loosens !== input,
      input ? 'accept null again' : 'never give null where consumers of the previous release read a value',
    );
  }

  enums(old, now, direction, diff);
  bounds(old, now, direction, diff);
  for (const keyword of ['pattern', 'format'] as const) {
    const was = old[keyword] as string | undefined;
    const is = now[keyword] as string | undefined;
    if (was === is) continue;
    if (is === undefined) diff(`${keyword} ${JSON.stringify(was)} dropped`, !input);
    else if (was === undefined)
      diff(`new ${keyword} ${JSON.stringify(is)}`, input, input ? `drop it: callers of the previous release may send values it refuses` : undefined);
    // Whether one regular expression accepts all another does is not decided here: a change is taken as breaking.
    else
      diff(
        `${keyword} changed from ${JSON.stringify(was)} to ${JSON.stringify(is)}`,
        true,
        `keep ${JSON.stringify(was)}; if the new one accepts everything the old did, accept the change`,
      );
  }
  const oldValidators = old.validators ?? [];
  const newValidators = now.validators ?? [];
  for (const name of newValidators.filter((v) => !oldValidators.includes(v)))
    diff(`new validator ${name}`, input, input ? `drop it: callers of the previous release may send values it refuses` : undefined);
  for (const name of oldValidators.filter((v) => !newValidators.includes(v))) diff(`validator ${name} dropped`, !input);
  for (const keyword of union(otherKeywords(old), otherKeywords(now))) {
    if (JSON.stringify(old[keyword]) !== JSON.stringify(now[keyword])) {
      diff(`${keyword} changed from ${JSON.stringify(old[keyword]) ?? 'none'} to ${JSON.stringify(now[keyword]) ?? 'none'}`, true);
    }
  }

  if (old.items || now.items) {
    out.push(...compareShapes(old.items ?? { type: 'unknown' }, now.items ?? { type: 'unknown' }, direction, `${path}[]`));
  }
  if (old.properties || now.properties) properties(old, now, direction, path, out);
  return out;
}

function properties(old: Shape, now: Shape, direction: Direction, path: string, out: Difference[]): void {
  const input = direction === 'in';
  const was = old.properties ?? {};
  const is = now.properties ?? {};
  const wasRequired = new Set(old.required ?? []);
  const isRequired = new Set(now.required ?? []);
  for (const name of union(Object.keys(was), Object.keys(is))) {
    const field = path === '' ? name : `${path}.${name}`;
    const diff = (what: string, breaking: boolean, fix?: string) => out.push({ path: field, what, breaking, fix });
    if (!is[name]) {
      diff(
        'removed',
        true,
        input
          ? 'keep accepting it (ignore it if it is no longer used): callers of the previous release still send it, and an unknown property is refused with a 400'
          : 'keep giving it: consumers of the previous release read it',
      );
      continue;
    }
    if (!was[name]) {
      if (input && isRequired.has(name))
        diff('added as required', true, 'make it @IsOptional() (callers of the previous release do not send it), or add it under a new operation');
      else diff(`added${isRequired.has(name) ? '' : ' (optional)'}`, false);
      continue;
    }
    if (wasRequired.has(name) && !isRequired.has(name)) {
      diff(
        input ? 'became optional' : 'became optional (may be absent)',
        !input,
        input ? undefined : 'keep it always present: consumers of the previous release read it',
      );
    } else if (!wasRequired.has(name) && isRequired.has(name)) {
      diff('became required', input, input ? 'keep it @IsOptional(): callers of the previous release may leave it out' : undefined);
    }
    out.push(...compareShapes(was[name], is[name], direction, field));
  }
}

const LOWER_BOUNDS = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems'] as const;
const UPPER_BOUNDS = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems'] as const;
const HANDLED = new Set([
  'type',
  'properties',
  'required',
  'items',
  'enum',
  'nullable',
  'anyOf',
  '$ref',
  'validators',
  'pattern',
  'format',
  ...LOWER_BOUNDS,
  ...UPPER_BOUNDS,
]);

function otherKeywords(shape: Shape): string[] {
  return Object.keys(shape).filter((key) => !HANDLED.has(key));
}

/** A bound that lets fewer values through tightens: breaking for an input, harmless for an output, and the other way round. */
function bounds(old: Shape, now: Shape, direction: Direction, diff: (what: string, breaking: boolean, fix?: string) => void): void {
  const input = direction === 'in';
  const check = (keyword: string, lower: boolean) => {
    const was = old[keyword] as number | undefined;
    const is = now[keyword] as number | undefined;
    if (was === is) return;
    const tightens = was === undefined ? true : is === undefined ? false : lower ? is > was : is < was;
    const what =
      was === undefined
        ? `new ${keyword} ${is}`
        : is === undefined
          ? `${keyword} ${was} dropped`
          : `${keyword} ${is > was ? 'raised' : 'lowered'} from ${was} to ${is}`;
    diff(
      what,
      tightens === input,
      tightens === input
        ? input
          ? `keep ${keyword} ${was ?? 'unset'}: callers of the previous release may send values it now refuses`
          : `keep ${keyword} ${was ?? 'unset'}: consumers of the previous release check it`
        : undefined,
    );
  };
  for (const keyword of LOWER_BOUNDS) check(keyword, true);
  for (const keyword of UPPER_BOUNDS) check(keyword, false);
}

function enums(old: Shape, now: Shape, direction: Direction, diff: (what: string, breaking: boolean, fix?: string) => void): void {
  const input = direction === 'in';
  const was = old.enum;
  const is = now.enum;
  if (JSON.stringify(was) === JSON.stringify(is)) return;
  const list = (values: readonly unknown[]) => values.map((v) => JSON.stringify(v)).join(', ');
  if (is === undefined)
    return diff(`no longer limited to ${list(was!)}`, !input, input ? undefined : `consumers of the previous release expect only ${list(was!)}`);
  if (was === undefined)
    return diff(`now limited to ${list(is)}`, input, input ? 'callers of the previous release may send other values: keep it open' : undefined);
  const removed = was.filter((v) => !is.includes(v));
  const added = is.filter((v) => !was.includes(v));
  if (removed.length > 0)
    diff(
      `value${removed.length > 1 ? 's' : ''} ${list(removed)} removed`,
      input,
      input ? `keep accepting ${list(removed)}: callers of the previous release send it` : undefined,
    );
  if (added.length > 0)
    diff(
      `value${added.length > 1 ? 's' : ''} ${list(added)} added`,
      !input,
      input ? undefined : `consumers of the previous release do not expect ${list(added)}: give it under a new field, or a new event version`,
    );
}

/** integer -> number loosens an input; number -> integer narrows an output; anything becomes `unknown` only on the accepting side. */
function typeWidens(was: Shape['type'], is: Shape['type'], direction: Direction): boolean {
  const [narrow, wide] = direction === 'in' ? [was, is] : [is, was];
  return (narrow === 'integer' && wide === 'number') || wide === 'unknown';
}

function describe(shape: Shape): string {
  if (shape.type === 'array') return `array of ${shape.items ? describe(shape.items) : 'unknown'}`;
  return shape.type ?? (shape.anyOf ? 'a union' : 'unknown');
}

function count(record: Readonly<Record<string, unknown>>, noun: string): string {
  const n = Object.keys(record).length;
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}
