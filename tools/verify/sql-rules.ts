import { codeStrings, looksLikeSql } from './sql-strings.js';
import type { Violation } from './violation.js';
import type { Workspace } from './workspace.js';

/**
 * Raw SQL of module A (its sources and its migrations) names no other
 * module's schema: `b.table`, `"b"."table"`, for every other module b.
 * Postgres roles refuse such a query at run time; this finds it before.
 */
export function sqlRules(workspace: Workspace): Violation[] {
  const violations: Violation[] = [];
  for (const module of workspace.modules) {
    const foreign = workspace.modules.map((m) => m.name).filter((name) => name !== module.name);
    if (foreign.length === 0) continue;
    // Not preceded by a word character, `.` or `$` (so `x.payments.y` and `$payments` are not schemas);
    // the schema and the name after the dot may be double-quoted, the quotes maybe escaped.
    const reference = new RegExp(`(?<![\\w.$])\\\\?"?(${foreign.join('|')})\\\\?"?\\s*\\.\\s*\\\\?"?([A-Za-z_][\\w$]*)`, 'g');
    for (const file of workspace.filesOf(module.name)) {
      const source = workspace.source(file);
      for (const code of codeStrings(source)) {
        if (!looksLikeSql(code)) continue;
        for (const part of code.parts) {
          for (const match of part.raw.matchAll(reference)) {
            const [, schema, name] = match;
            const touched = `${schema}.${name.toLowerCase()}`;
            violations.push({
              rule: 'foreign-schema-sql',
              file,
              line: workspace.lineAt(file, part.start + match.index),
              touches: touched,
              what: `SQL names ${touched}, in the schema of module '${schema}'`,
              fix: `reach '${schema}' data through its contract (or its events) instead; module '${module.name}' queries only its own schema '${module.name}'`,
            });
          }
        }
      }
    }
  }
  return violations;
}
