import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import type { ContractChange } from './contract-compat.js';
import type { Contracts, WorkflowContract } from './contract-model.js';
import type { Workspace } from './workspace.js';

/**
 * Each module's workflows as its source declares them (`defineSaga({ name,
 * version, steps })`, read from the syntax: the definitions are built by
 * factories with collaborators, so they are not imported): name, version and
 * the steps in order, with their undos and waits. The gate fails when a
 * recorded version's steps differ (ADR 29): instances in flight on it would
 * resume at steps the new build does not have, or has in another order.
 */
export function extractWorkflows(workspace: Workspace): {
  workflows: Record<string, Record<string, WorkflowContract>>;
  locations: Map<string, { file: string; line: number }>;
  unreadable: Array<{ module: string; file: string; line: number; reason: string }>;
} {
  const workflows: Record<string, Record<string, WorkflowContract>> = {};
  const locations = new Map<string, { file: string; line: number }>();
  const unreadable: Array<{ module: string; file: string; line: number; reason: string }> = [];
  for (const module of workspace.modules) {
    for (const file of sources(join(workspace.root, module.dir))) {
      const text = readFileSync(file, 'utf8');
      if (!text.includes('defineSaga')) continue;
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      const at = (node: ts.Node) => ({ file: relative(workspace.root, file), line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
      const visit = (node: ts.Node): void => {
        if (
          ts.isCallExpression(node) &&
          ts.isIdentifier(node.expression) &&
          node.expression.text === 'defineSaga' &&
          node.arguments[0] &&
          ts.isObjectLiteralExpression(node.arguments[0])
        ) {
          try {
            const { name, workflow } = readWorkflow(node.arguments[0]);
            (workflows[module.name] ??= {})[`${name} v${workflow.version}`] = workflow;
            locations.set(`${module.name}/${name} v${workflow.version}`, at(node));
          } catch (error) {
            unreadable.push({ module: module.name, ...at(node), reason: (error as Error).message });
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  }
  return { workflows, locations, unreadable };
}

/** A recorded version whose steps changed: breaking. A new workflow or version: compatible (recorded with --update-contracts). */
export function compareWorkflows(recorded: Contracts, tree: Contracts): ContractChange[] {
  const changes: ContractChange[] = [];
  for (const [module, contract] of Object.entries(tree)) {
    for (const [id, workflow] of Object.entries(contract.workflows ?? {})) {
      const before = recorded[module]?.workflows?.[id];
      if (!before) {
        changes.push({ module, subject: `workflow ${id}`, where: '', what: 'added', breaking: false });
      } else if (JSON.stringify(before.steps) !== JSON.stringify(workflow.steps)) {
        changes.push({
          module,
          subject: `workflow ${id}`,
          where: 'steps',
          what: `changed from ${before.steps.join(', ')} to ${workflow.steps.join(', ')} under the same version`,
          breaking: true,
          fix: `bump the definition's version and keep the old one in the runner while its instances are in flight (ADR 29)`,
        });
      }
    }
  }
  return changes;
}

function readWorkflow(definition: ts.ObjectLiteralExpression): { name: string; workflow: WorkflowContract } {
  const name = literal(property(definition, 'name'), 'name');
  const version = property(definition, 'version');
  if (!version || !ts.isNumericLiteral(version)) throw new Error(`workflow '${name}' has no literal version`);
  const steps = property(definition, 'steps');
  if (!steps || !ts.isArrayLiteralExpression(steps)) throw new Error(`workflow '${name}' has no literal steps`);
  return {
    name,
    workflow: {
      version: Number(version.text),
      steps: steps.elements.map((element) => {
        if (!ts.isObjectLiteralExpression(element)) throw new Error(`workflow '${name}': a step that is not an object literal`);
        const step = literal(property(element, 'name'), 'step name');
        const undo = property(element, 'undo');
        const waits = property(element, 'waitFor') ? ' (waits)' : property(element, 'sleepMs') ? ' (sleeps)' : '';
        return undo && ts.isObjectLiteralExpression(undo) ? `${step}${waits} / undo ${literal(property(undo, 'name'), 'undo name')}` : `${step}${waits}`;
      }),
    },
  };
}

function property(object: ts.ObjectLiteralExpression, name: string): ts.Expression | undefined {
  const found = object.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === name);
  return found?.initializer;
}

function literal(node: ts.Expression | undefined, what: string): string {
  if (!node || !(ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) throw new Error(`a ${what} that is not a string literal`);
  return node.text;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}
