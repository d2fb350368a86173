import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * .env.example lists every variable the code reads (src/: the store and its commands; tools/: the
 * topology runner, compare, explore), and nothing it does not read: a new variable fails here until
 * it is documented, a variable dropped from the code fails here until its line goes.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A variable read, or a family of them (`<MODULE>_DATABASE_URL` read as `${name}_DATABASE_URL`). */
interface Read {
  readonly name: string; // `*_DATABASE_URL`, `NATS_PASSWORD_*` for a family
  readonly where: string;
}

const READS: readonly RegExp[] = [
  /\benv\??\.([A-Z][A-Z0-9_]*)\b/g, // process.env.X, env.X, env?.X
  /\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g, // env['X']
  /\.(?:integer|secret)\(\s*['"]([A-Z][A-Z0-9_]*)['"]/g, // ModuleSettings: settings.integer('X', ...)
];
/** `${...toUpperCase()...}_SUFFIX` and `PREFIX_${...toUpperCase()...}`: one variable per name. */
const FAMILIES: readonly [RegExp, (match: RegExpExecArray) => string][] = [
  [/\$\{[^}`]*toUpperCase\(\)[^}`]*\}(_[A-Z][A-Z0-9_]*)/g, (m) => `*${m[1]}`],
  [/\b([A-Z][A-Z0-9_]*_)\$\{[^}`]*toUpperCase\(\)/g, (m) => `${m[1]}*`],
];

export function readsIn(text: string, where: string): Read[] {
  const found: Read[] = [];
  for (const pattern of READS) for (const match of text.matchAll(pattern)) found.push({ name: match[1], where });
  for (const [pattern, name] of FAMILIES) for (const match of text.matchAll(pattern)) found.push({ name: name(match), where });
  return found;
}

/** Variables listed in .env.example: `NAME=value` lines, commented out or not. */
export function listedIn(text: string): string[] {
  return [...text.matchAll(/^#?\s?([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]);
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|mjs|js)$/.test(entry.name) && !/\.spec\.ts$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

function covers(listed: readonly string[], name: string): boolean {
  if (name.startsWith('*')) return listed.some((variable) => variable.endsWith(name.slice(1)) && variable !== name.slice(2));
  if (name.endsWith('*')) return listed.some((variable) => variable.startsWith(name.slice(0, -1)));
  return listed.includes(name);
}

/** The system's own variables, passed on to child processes: not the project's to document. */
const SYSTEM = new Set(['PATH', 'HOME', 'TMPDIR', 'USER', 'SHELL', 'HOSTNAME']);
const reads = ['src', 'tools']
  .flatMap(sources)
  .flatMap((file) => readsIn(readFileSync(file, 'utf8'), relative(ROOT, file)))
  .filter((read) => !SYSTEM.has(read.name));
const listed = listedIn(readFileSync(join(ROOT, '.env.example'), 'utf8'));

describe('.env.example', () => {
  it('finds what it looks for (the scanner itself)', () => {
    const sample = [
      "const a = process.env.FOO_BAR; const b = env?.BAZ; const c = this.env['QUX'];",
      "settings.integer('CHECKOUT_X_MS', 1, 0, 2); settings.secret('SOME_SECRET');",
      'env[`${module.toUpperCase()}_DATABASE_URL`]; process.env[`NATS_PASSWORD_${user.toUpperCase()}`];',
    ].join('\n');
    expect(
      readsIn(sample, 'sample')
        .map((read) => read.name)
        .sort(),
    ).toEqual(['*_DATABASE_URL', 'BAZ', 'CHECKOUT_X_MS', 'FOO_BAR', 'NATS_PASSWORD_*', 'QUX', 'SOME_SECRET'].sort());
    expect(listedIn('# comment FOO=no\n# PORT=3000\nMODULES=a\n#   INDENTED=no\n')).toEqual(['PORT', 'MODULES']);
    expect(covers(['INVENTORY_DATABASE_URL'], '*_DATABASE_URL')).toBe(true);
    expect(covers(['DATABASE_URL'], '*_DATABASE_URL')).toBe(false);
  });

  it('lists every variable the code reads', () => {
    expect(reads.length).toBeGreaterThan(40);
    const missing = reads.filter((read) => !covers(listed, read.name)).map((read) => `${read.name} (${read.where})`);
    expect([...new Set(missing)]).toEqual([]);
  });

  it('lists no variable the code does not read', () => {
    const readNames = new Set(reads.map((read) => read.name));
    const stale = listed.filter((variable) => !readNames.has(variable) && ![...readNames].some((name) => name.includes('*') && covers([variable], name)));
    expect(stale).toEqual([]);
  });

  it('lists each variable once, and every line commented out (a copy to .env changes nothing)', () => {
    expect(listed.filter((variable, index) => listed.indexOf(variable) !== index)).toEqual([]);
    const text = readFileSync(join(ROOT, '.env.example'), 'utf8');
    expect(text.split('\n').filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))).toEqual([]);
  });
});
