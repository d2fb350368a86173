import { ident } from '../database/provisioning.js';
import type { SagaEffect, Transition } from './saga-definition.js';

/** The saga's key, given by the platform to every effect (as text: cast it, `:key::uuid`). */
export const KEY_PARAMETER = 'key';

/** One `:name` in a statement's text: where it is, and its name. */
interface NamedParameter {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}

/**
 * The `:name` parameters of a piece of SQL, in order, skipping what is not
 * code: quoted strings ('a:b', E'…', $$…$$), quoted identifiers ("x:y") and
 * comments. A cast (`::uuid`) is not a parameter, nor is `a:b` inside a word
 * (an array slice `a[1:2]` has no letter after its colon).
 */
export function namedParameters(sql: string): NamedParameter[] {
  const found: NamedParameter[] = [];
  let at = 0;
  while (at < sql.length) {
    const char = sql[at];
    const rest = sql.slice(at);
    if (char === "'" || char === '"') {
      const close = sql.indexOf(char, at + 1);
      at = close < 0 ? sql.length : close + 1;
      // A doubled quote is an escaped one: the literal goes on.
      while (at < sql.length && sql[at] === char) at = sql.indexOf(char, at + 1) + 1 || sql.length;
      continue;
    }
    if (rest.startsWith('--')) {
      const close = sql.indexOf('\n', at);
      at = close < 0 ? sql.length : close + 1;
      continue;
    }
    if (rest.startsWith('/*')) {
      const close = sql.indexOf('*/', at + 2);
      at = close < 0 ? sql.length : close + 2;
      continue;
    }
    const dollar = /^\$([A-Za-z_]\w*)?\$/.exec(rest);
    if (dollar && !/\w/.test(sql[at - 1] ?? '')) {
      const close = sql.indexOf(dollar[0], at + dollar[0].length);
      at = close < 0 ? sql.length : close + dollar[0].length;
      continue;
    }
    if (char === ':' && sql[at - 1] !== ':' && sql[at + 1] !== ':') {
      const name = /^:([A-Za-z_]\w*)/.exec(rest);
      if (name) {
        found.push({ start: at, end: at + name[0].length, name: name[1] });
        at += name[0].length;
        continue;
      }
    }
    at++;
  }
  return found;
}

/** An effect as the engine runs it: a data-modifying statement for its `WITH`, and the values of its parameters. */
export interface ComposedEffect {
  /** The statement, or undefined for an effect that only publishes events. */
  readonly sql: string | undefined;
  /** How many parameters it takes, numbered from the `first` it was composed with. */
  readonly count: number;
  /** Its parameters' values for a transition, in order (the saga's key is `$2`, the engine's). */
  values(transition: Transition): unknown[];
  /** Whether this transition runs the statement (else the engine's statement leaves it out). */
  applies(transition: Transition): boolean;
}

/**
 * Composes a module's effect (its own table, its own `:names`) into what the
 * engine's one statement per transition needs (ADR 35): the table put in the
 * module's schema, `:key` made the engine's `$2`, each other name a numbered
 * parameter from `first`, and the condition `applied` (the transition was
 * written: this runner still held the saga) added by the platform, so a
 * runner that lost its saga changes nothing of the module's.
 */
export function composeEffect(saga: string, effect: SagaEffect<unknown> | undefined, schema: string, first: number, applied: string): ComposedEffect {
  const refuse = (why: string): never => {
    throw new Error(`saga '${saga}': its effect ${why}`);
  };
  if (!effect) return { sql: undefined, count: 0, values: () => [], applies: () => false };
  // A definition written before ADR 35 (a type error too): said at once, never run as an effect that does nothing.
  if ('sql' in effect)
    refuse(
      "is raw `sql` in the engine's terms ($11…, moved), which ADR 35 replaced: say `update: { table, set, where }` or `insert` on the module's own table, with :names and :key",
    );
  const statements = [effect.update && 'update', effect.insert && 'insert'].filter(Boolean);
  if (statements.length > 1) refuse('is one statement: an update or an insert, not both');
  const table = (name: string): string => {
    // Unqualified: the module's own schema is the platform's to add, so an effect cannot name another's.
    if (!/^[a-z_][a-z0-9_]*$/.test(name))
      refuse(`names table '${name}': name one of the module's own tables, unqualified (the platform puts it in schema '${schema}')`);
    return `${ident(schema)}.${ident(name)}`;
  };
  const guard = `EXISTS (SELECT 1 FROM ${applied})`;
  let text: string | undefined;
  if (effect.update) {
    const { set, where } = effect.update;
    if (!set?.trim() || !where?.trim()) refuse("updates with no set or no where (the rows it changes are the saga's own: `where: 'id = :key'`)");
    text = `UPDATE ${table(effect.update.table)} SET ${set} WHERE (${where}) AND ${guard}`;
  } else if (effect.insert) {
    const { into, columns, values, onConflict } = effect.insert;
    if (!columns?.trim() || !values?.trim()) refuse('inserts with no columns or no values');
    text = `INSERT INTO ${table(into)} (${columns}) SELECT ${values} WHERE ${guard}${onConflict ? ` ON CONFLICT ${onConflict}` : ''}`;
  }
  const names: string[] = [];
  let sql = text;
  if (text !== undefined) {
    // From the end, so earlier offsets stay valid as names become numbers.
    const found = namedParameters(text);
    for (const parameter of found) if (parameter.name !== KEY_PARAMETER && !names.includes(parameter.name)) names.push(parameter.name);
    for (const parameter of [...found].reverse()) {
      const number = parameter.name === KEY_PARAMETER ? 2 : first + names.indexOf(parameter.name);
      sql = `${sql!.slice(0, parameter.start)}$${number}${sql!.slice(parameter.end)}`;
    }
    if (names.length > 0 && !effect.params) refuse(`takes ${names.map((name) => `:${name}`).join(', ')} but has no params to give them values`);
  }
  const expected = new Set(names);
  return {
    sql,
    count: names.length,
    applies: (transition) => sql !== undefined && (effect.when?.(transition) ?? true),
    values: (transition) => {
      if (names.length === 0 && !effect.params) return [];
      const given = effect.params?.(transition) ?? {};
      if (Object.hasOwn(given, KEY_PARAMETER)) refuse(`gives ':${KEY_PARAMETER}' a value: it is the saga's key, given by the platform`);
      const unknown = Object.keys(given).filter((name) => !expected.has(name));
      if (unknown.length > 0)
        refuse(
          `gives ${unknown.map((name) => `:${name}`).join(', ')}, which its statement does not take (it takes ${names.map((name) => `:${name}`).join(', ') || 'none'})`,
        );
      // Every name answered, even if with undefined (SQL's NULL): a name left out is a typo more often than not.
      return names.map((name) =>
        Object.hasOwn(given, name)
          ? (given[name] ?? null)
          : refuse(
              `gives no value to :${name} (params answered ${
                Object.keys(given)
                  .map((n) => `:${n}`)
                  .join(', ') || 'nothing'
              })`,
            ),
      );
    },
  };
}
