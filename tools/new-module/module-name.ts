import { MODULE_NAME } from '../../src/platform/modules/module-discovery.js';

/** A module's name as each place spells it. */
export interface ModuleNames {
  /** The folder, schema and contract name: `loyalty_points`. */
  readonly name: string;
  /** Classes: `LoyaltyPoints`. */
  readonly pascal: string;
  /** File names and URL paths: `loyalty-points`. */
  readonly kebab: string;
  /** Prose: `Loyalty points`. */
  readonly title: string;
}

/** Schemas (and so module names) Postgres keeps for itself, or that every database already has. */
const RESERVED = new Set(['public', 'information_schema', 'platform', 'modules']);

/** The reason a name cannot be a new module's, or undefined when it can. */
export function invalidModuleName(name: string, existing: readonly string[]): string | undefined {
  if (!MODULE_NAME.test(name)) {
    return `'${name}' is not a module name: it must start with a lower-case letter and hold only lower-case letters, digits and _ (at most 31), e.g. loyalty or gift_cards`;
  }
  if (name.startsWith('pg_') || RESERVED.has(name)) return `'${name}' is reserved (a Postgres schema, or a word of the platform): choose another name`;
  if (name.endsWith('_') || name.includes('__')) return `'${name}' has a stray _: use one _ between words, e.g. gift_cards`;
  if (existing.includes(name)) return `module '${name}' exists already (src/modules/${name})`;
  return undefined;
}

export function moduleNames(name: string): ModuleNames {
  const words = name.split('_');
  const pascal = words.map((word) => word[0].toUpperCase() + word.slice(1)).join('');
  const title = words.join(' ');
  return { name, pascal, kebab: words.join('-'), title: title[0].toUpperCase() + title.slice(1) };
}
