import ts from 'typescript';
import { localNamesOf } from './import-sites.js';
import type { Violation } from './violation.js';
import type { Workspace } from './workspace.js';

const ENTITY_DECORATORS = ['Entity', 'ViewEntity'];

/**
 * Every TypeORM entity of module A maps to schema `a`, stated on the
 * decorator: `@Entity({ schema: 'a', name: '...' })`. A missing schema is a
 * violation too: the table would land wherever the connection's search_path
 * points, which is no promise at all.
 */
export function schemaRules(workspace: Workspace): Violation[] {
  const violations: Violation[] = [];
  for (const module of workspace.modules) {
    for (const file of workspace.filesOf(module.name)) {
      if (!workspace.read(file).includes('typeorm')) continue;
      const source = workspace.source(file);
      const decorators = localNamesOf(source, 'typeorm', ENTITY_DECORATORS);
      if (decorators.size === 0) continue;
      const visit = (node: ts.Node): void => {
        if (ts.isClassDeclaration(node)) {
          for (const decorator of ts.getDecorators(node) ?? []) {
            const call = decorator.expression;
            if (!ts.isCallExpression(call) || !decorators.has(call.expression.getText(source))) continue;
            const schema = schemaOf(call, source);
            if (schema === module.name) continue;
            const entity = node.name?.text ?? 'an anonymous class';
            const touches = schema === undefined ? 'no schema' : schema === null ? 'a computed schema' : `schema ${schema}`;
            violations.push({
              rule: 'entity-schema',
              file,
              line: workspace.lineAt(file, decorator.getStart(source)),
              touches: `${entity}: ${touches}`,
              what: `entity ${entity} maps to ${touches}${schema ? ` (the data of module '${schema}')` : ''}, not to '${module.name}'`,
              fix: `map it to its module's schema with a literal: @${call.expression.getText(source)}({ schema: '${module.name}', name: '...' }); another module's data is reached through that module's contract`,
            });
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  }
  return violations;
}

/** The schema a decorator names: a string, undefined when none is given, null when it is not a literal. */
function schemaOf(call: ts.CallExpression, source: ts.SourceFile): string | undefined | null {
  const [options] = call.arguments;
  if (!options) return undefined;
  const fromName = (value: string) => (value.includes('.') ? value.slice(0, value.indexOf('.')) : undefined);
  if (ts.isStringLiteralLike(options)) return fromName(options.text);
  if (!ts.isObjectLiteralExpression(options)) return null;
  const property = (key: string) =>
    options.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText(source).replace(/['"]/g, '') === key);
  const schema = property('schema');
  if (schema) return literal(schema.initializer, source);
  const name = property('name');
  const tableName = name ? literal(name.initializer, source) : undefined;
  return typeof tableName === 'string' ? fromName(tableName) : tableName === null ? null : undefined;
}

/** A string literal, or a `const` of one in the same file; null for anything computed. */
function literal(expression: ts.Expression, source: ts.SourceFile): string | null {
  if (ts.isStringLiteralLike(expression)) return expression.text;
  if (ts.isIdentifier(expression)) {
    for (const statement of source.statements) {
      if (!ts.isVariableStatement(statement) || !(statement.declarationList.flags & ts.NodeFlags.Const)) continue;
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name) && declaration.name.text === expression.text && declaration.initializer) {
          return ts.isStringLiteralLike(declaration.initializer) ? declaration.initializer.text : null;
        }
      }
    }
  }
  return null;
}
