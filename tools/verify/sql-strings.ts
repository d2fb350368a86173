import ts from 'typescript';

/** One literal piece of a string, where it sits in the source. */
export interface StringPart {
  /** Source offset of `raw`. */
  readonly start: number;
  /** The piece as written, quotes and escapes included. */
  readonly raw: string;
}

/** A string the code builds from literals: one literal, a template, or a `+` chain of them. */
export interface CodeString {
  /** The literal text with `$x` for each interpolated expression. */
  readonly text: string;
  readonly parts: readonly StringPart[];
  /**
   * Whether it is SQL by where it stands, whatever it reads like: the argument
   * of a query-builder method such as `.from('x.y')`, or a part of a saga
   * effect's statement (`effect: { update: { table, set, where } }`, ADR 35:
   * fragments such as `status = (select … from x.y)` read like no statement).
   */
  readonly builderArgument: boolean;
}

/**
 * SQL statement shapes, in any case (a keyword and what must follow it, so that
 * prose starting with "select" or "with" is not taken for SQL), and the
 * upper-case keywords SQL written here carries anywhere.
 */
const SQL_STATEMENT =
  /^\s*(?:--[^\n]*\n\s*)*(?:select\b[\s\S]*\bfrom\b|insert\s+into\b|update\s+\S+\s+set\b|delete\s+from\b|(?:create|alter|drop)\s+(?:unique\s+)?(?:table|index|view|schema|sequence|type|function|trigger|materialized)\b|truncate\b|with\s+\w+\s+as\s*\()/i;
const SQL_KEYWORDS = /\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM|FROM|JOIN|CREATE TABLE|ALTER TABLE|DROP TABLE|REFERENCES|RETURNING|WHERE)\b/;

/** TypeORM query-builder methods whose string argument is a table. */
const BUILDER_METHODS = new Set([
  'from',
  'addFrom',
  'into',
  'update',
  'delete',
  'insert',
  'join',
  'innerJoin',
  'leftJoin',
  'innerJoinAndSelect',
  'leftJoinAndSelect',
  'getRepository',
  'createQueryBuilder',
  'query',
]);

/** The parts of a saga effect's statement (saga-definition.ts, `SagaEffect`), and the statements they belong to. */
const EFFECT_PARTS = new Set(['table', 'set', 'where', 'into', 'columns', 'values', 'onConflict']);
const EFFECT_STATEMENTS = new Set(['update', 'insert']);

/** The name of the property whose value `node` is (`name: node`), if it is one. */
function propertyOf(node: ts.Node): string | undefined {
  const assignment = node.parent;
  if (!assignment || !ts.isPropertyAssignment(assignment) || assignment.initializer !== node) return undefined;
  return ts.isIdentifier(assignment.name) || ts.isStringLiteral(assignment.name) ? assignment.name.text : undefined;
}

/** `effect: { update: { set: node } }` (or insert, or any part): the string is a piece of a saga's statement. */
function isEffectPart(node: ts.Node): boolean {
  if (!EFFECT_PARTS.has(propertyOf(node) ?? '')) return false;
  const statement = node.parent.parent;
  if (!statement || !ts.isObjectLiteralExpression(statement) || !EFFECT_STATEMENTS.has(propertyOf(statement) ?? '')) return false;
  const effect = statement.parent.parent;
  return !!effect && ts.isObjectLiteralExpression(effect) && propertyOf(effect) === 'effect';
}

/**
 * Whether a string reads as SQL rather than prose or a name: a statement
 * keyword up front, or SQL's upper-case keywords in it. `payments.chargePayment`
 * in an error message is not SQL; `SELECT ... FROM payments.payments` is.
 */
export function looksLikeSql(code: CodeString): boolean {
  return code.builderArgument || SQL_STATEMENT.test(code.text) || SQL_KEYWORDS.test(code.text);
}

/**
 * Every string built from literals in a file, found by walking the syntax
 * tree, so that code (`this.payments.chargePayment(...)`) is never mistaken
 * for text, and a template's `${...}` expressions are walked as code.
 */
export function codeStrings(source: ts.SourceFile): CodeString[] {
  const strings: CodeString[] = [];
  const part = (node: ts.Node): StringPart => ({ start: node.getStart(source), raw: node.getText(source) });
  const builderArgument = (node: ts.Node): boolean => {
    if (isEffectPart(node)) return true;
    const call = node.parent;
    if (!call || !ts.isCallExpression(call) || !call.arguments.includes(node as ts.Expression)) return false;
    const callee = call.expression;
    return ts.isPropertyAccessExpression(callee) && BUILDER_METHODS.has(callee.name.text);
  };
  const visit = (node: ts.Node): void => {
    // Module specifiers are paths, not data.
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      strings.push({ text: node.text, parts: [part(node)], builderArgument: builderArgument(node) });
      return;
    }
    if (ts.isTemplateExpression(node)) {
      const parts = [part(node.head), ...node.templateSpans.map((span) => part(span.literal))];
      const text = node.head.text + node.templateSpans.map((span) => `$x${span.literal.text}`).join('');
      strings.push({ text, parts, builderArgument: builderArgument(node) });
      node.templateSpans.forEach((span) => visit(span.expression));
      return;
    }
    if (isConcatenation(node) && !isConcatenation(node.parent)) {
      const leaves = flatten(node);
      const isLiteral = (leaf: ts.Expression) => ts.isStringLiteral(leaf) || ts.isNoSubstitutionTemplateLiteral(leaf);
      if (leaves.some(isLiteral)) {
        const text = leaves.map((leaf) => (isLiteral(leaf) ? (leaf as ts.StringLiteral).text : '$x')).join('');
        strings.push({ text, parts: leaves.filter(isLiteral).map(part), builderArgument: builderArgument(node) });
        leaves.filter((leaf) => !isLiteral(leaf)).forEach(visit);
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return strings;
}

function isConcatenation(node: ts.Node | undefined): node is ts.BinaryExpression {
  return !!node && ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken;
}

function flatten(node: ts.Expression): ts.Expression[] {
  if (isConcatenation(node)) return [...flatten(node.left), ...flatten(node.right)];
  if (ts.isParenthesizedExpression(node)) return flatten(node.expression);
  return [node];
}
