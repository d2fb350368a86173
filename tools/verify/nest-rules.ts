import ts from 'typescript';
import { localNamesOf } from './import-sites.js';
import type { Violation } from './violation.js';
import type { Workspace } from './workspace.js';

/**
 * A module's Nest modules export nothing but its contract's client token
 * (`XContract.client`): another module that could inject
 * a provider of this one would bypass the contract, and would break the day
 * this module runs in another process. Nor may they be global.
 */
export function nestRules(workspace: Workspace): Violation[] {
  const violations: Violation[] = [];
  for (const module of workspace.modules) {
    for (const file of workspace.filesOf(module.name)) {
      if (!workspace.read(file).includes('@nestjs/common')) continue;
      const source = workspace.source(file);
      const decorators = localNamesOf(source, '@nestjs/common', ['Module', 'Global']);
      if (decorators.size === 0) continue;
      const visit = (node: ts.Node): void => {
        if (ts.isClassDeclaration(node)) {
          const nestModule = node.name?.text ?? 'an anonymous module';
          for (const decorator of ts.getDecorators(node) ?? []) {
            const call = decorator.expression;
            if (!ts.isCallExpression(call)) continue;
            const kind = decorators.get(call.expression.getText(source));
            const report = (touches: string, line: number, what: string) =>
              violations.push({
                rule: 'nest-exports',
                file,
                line,
                touches: `${nestModule}: ${touches}`,
                what,
                fix: `export nothing else: other modules reach '${module.name}' only through its contract client, which the platform binds`,
              });
            if (kind === 'Global') {
              report('global', workspace.lineAt(file, decorator.getStart(source)), `Nest module ${nestModule} is @Global()`);
              continue;
            }
            const [options] = call.arguments;
            if (kind !== 'Module' || !options || !ts.isObjectLiteralExpression(options)) continue;
            const exports = options.properties.find((p) => ts.isPropertyAssignment(p) && p.name.getText(source) === 'exports');
            if (!exports || !ts.isPropertyAssignment(exports)) continue;
            const elements = ts.isArrayLiteralExpression(exports.initializer) ? exports.initializer.elements : [exports.initializer];
            for (const element of elements) {
              if (ts.isPropertyAccessExpression(element) && element.name.text === 'client') continue;
              const text = element.getText(source);
              report(text, workspace.lineAt(file, element.getStart(source)), `Nest module ${nestModule} exports ${text}`);
            }
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  }
  return violations;
}
