import ts from 'typescript';

/** One place a file names another module: an import, a re-export, a dynamic import or require, an `import('x').T` type. */
export interface ImportSite {
  readonly specifier: string;
  readonly line: number;
  /** The exported names it takes; '*' for a namespace, `export *`, or a dynamic import. */
  readonly names: readonly string[] | '*';
}

/**
 * dependency-cruiser says which file depends on which, but not where: this
 * finds the lines (and the imported names, for the calls-versus-events check).
 */
export function importSites(source: ts.SourceFile): ImportSite[] {
  const sites: ImportSite[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined, names: readonly string[] | '*') => {
    if (specifier && ts.isStringLiteralLike(specifier)) {
      sites.push({ specifier: specifier.text, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, names });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node, node.moduleSpecifier, importedNames(node.importClause));
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      add(node, node.moduleSpecifier, clause && ts.isNamedExports(clause) ? clause.elements.map((e) => (e.propertyName ?? e.name).text) : '*');
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, '*');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const qualifier = node.qualifier ? leftmost(node.qualifier) : undefined;
      add(node, node.argument.literal, qualifier ? [qualifier] : '*');
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      add(node, node.arguments[0], '*');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

function importedNames(clause: ts.ImportClause | undefined): readonly string[] | '*' {
  if (!clause) return [];
  const names: string[] = clause.name ? ['default'] : [];
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) return '*';
  if (bindings) names.push(...bindings.elements.map((e) => (e.propertyName ?? e.name).text));
  return names;
}

function leftmost(name: ts.EntityName): string {
  return ts.isIdentifier(name) ? name.text : leftmost(name.left);
}

/** Local names under which a file imports the given exports of a package (`import { Entity as E } from 'typeorm'`). */
export function localNamesOf(source: ts.SourceFile, packageName: string, exported: readonly string[]): Map<string, string> {
  const locals = new Map<string, string>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    if (statement.moduleSpecifier.text !== packageName) continue;
    const bindings = statement.importClause?.namedBindings;
    if (bindings && ts.isNamedImports(bindings)) {
      for (const element of bindings.elements) {
        const name = (element.propertyName ?? element.name).text;
        if (exported.includes(name)) locals.set(element.name.text, name);
      }
    } else if (bindings && ts.isNamespaceImport(bindings)) {
      for (const name of exported) locals.set(`${bindings.name.text}.${name}`, name);
    }
  }
  return locals;
}
