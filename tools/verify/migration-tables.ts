import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { codeStrings } from './sql-strings.js';

export interface Column {
  readonly name: string;
  readonly type: string;
  /** PK, NOT NULL, UNIQUE, DEFAULT, → referenced table. */
  readonly notes: readonly string[];
}

export interface Table {
  /** `schema.table` as the migration names it. */
  readonly name: string;
  readonly columns: readonly Column[];
}

/**
 * A module's tables as its migrations leave them: the CREATE TABLE (and
 * ALTER TABLE ADD/DROP COLUMN, DROP TABLE) statements of each migration's
 * `up`, in file order. Works on the TypeScript sources and on the build alike.
 */
export function migrationTables(dir: string): Table[] {
  if (!existsSync(dir)) return [];
  const tables = new Map<string, Column[]>();
  const files = readdirSync(dir)
    .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))
    .sort();
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(join(dir, file), 'utf8'), ts.ScriptTarget.Latest, true);
    for (const sql of upStatements(source)) apply(tables, sql);
  }
  return [...tables].map(([name, columns]) => ({ name, columns })).sort((a, b) => a.name.localeCompare(b.name));
}

/** The SQL strings inside `up()` methods: `down()` undoes them and must not count. */
function upStatements(source: ts.SourceFile): string[] {
  const statements: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isMethodDeclaration(node) && node.name.getText(source) === 'up' && node.body) {
      const body = ts.createSourceFile('up.ts', node.body.getText(source), ts.ScriptTarget.Latest, true);
      statements.push(...codeStrings(body).map((code) => code.text));
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return statements;
}

const NAME = String.raw`"?[A-Za-z_][\w$]*"?(?:\."?[A-Za-z_][\w$]*"?)?`;
const CREATE = new RegExp(String.raw`create\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?(${NAME})\s*\(`, 'gi');
const DROP = new RegExp(String.raw`drop\s+table\s+(?:if\s+exists\s+)?((?:${NAME}\s*,\s*)*${NAME})`, 'gi');
const ALTER = new RegExp(String.raw`alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?(${NAME})\s+([^;]*)`, 'gi');

function apply(tables: Map<string, Column[]>, sql: string): void {
  const text = sql.replace(/--[^\n]*/g, '');
  for (const match of text.matchAll(CREATE)) {
    const open = match.index + match[0].length - 1;
    const body = text.slice(open + 1, closing(text, open));
    const definitions = splitTopLevel(body);
    const columns = definitions.flatMap(column);
    // A table-level PRIMARY KEY (a, b) marks its columns too.
    const key = definitions.map((d) => /^\s*(?:constraint\s+\S+\s+)?primary\s+key\s*\(([^)]*)\)/i.exec(d)).find(Boolean);
    const keyColumns = key ? key[1].split(',').map((name) => unquote(name.trim())) : [];
    tables.set(
      unquote(match[1]),
      columns.map((c) => (keyColumns.includes(c.name) ? { ...c, notes: ['PK', ...c.notes] } : c)),
    );
  }
  for (const match of text.matchAll(ALTER)) {
    const columns = tables.get(unquote(match[1]));
    if (!columns) continue;
    for (const action of splitTopLevel(match[2])) {
      const add = /^add\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?([\s\S]+)$/i.exec(action.trim());
      const drop = /^drop\s+(?:column\s+)?(?:if\s+exists\s+)?("?[\w$]+"?)/i.exec(action.trim());
      if (add) columns.push(...column(add[1]));
      else if (drop) columns.splice(0, columns.length, ...columns.filter((c) => c.name !== unquote(drop[1])));
    }
  }
  for (const match of text.matchAll(DROP)) {
    for (const name of match[1].split(',')) tables.delete(unquote(name.trim()));
  }
}

const TABLE_CONSTRAINT = /^(?:constraint|primary\s+key|unique|check|foreign\s+key|exclude)\b/i;
const COLUMN_CONSTRAINT = /\s(?:not\s+null|null|primary\s+key|references|default|check|unique|generated|collate|constraint)\b/i;

/** One column definition (or nothing, for a table constraint). */
function column(definition: string): Column[] {
  const text = definition.trim().replace(/\s+/g, ' ');
  if (!text || TABLE_CONSTRAINT.test(text)) return [];
  const [, name, rest] = /^("[^"]+"|\S+)\s+([\s\S]*)$/.exec(text) ?? [];
  if (!name) return [];
  const cut = rest.search(COLUMN_CONSTRAINT);
  const type = (cut < 0 ? rest : rest.slice(0, cut)).trim();
  const constraints = cut < 0 ? '' : rest.slice(cut);
  const notes: string[] = [];
  if (/\bprimary\s+key\b/i.test(constraints)) notes.push('PK');
  if (/\bnot\s+null\b/i.test(constraints)) notes.push('NOT NULL');
  if (/\bunique\b/i.test(constraints)) notes.push('UNIQUE');
  const byDefault = /\bdefault\s+((?:[^\s(]+(?:\([^)]*\))?))/i.exec(constraints);
  if (byDefault) notes.push(`DEFAULT ${byDefault[1]}`);
  const references = new RegExp(String.raw`\breferences\s+(${NAME})`, 'i').exec(constraints);
  if (references) notes.push(`→ ${unquote(references[1])}`);
  return [{ name: unquote(name), type, notes }];
}

/** Index of the parenthesis closing the one at `open`. */
function closing(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i;
  }
  return text.length;
}

/** Splits at commas outside parentheses and quotes. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.filter((part) => part.trim().length > 0);
}

function unquote(name: string): string {
  return name.replace(/"/g, '').toLowerCase();
}
