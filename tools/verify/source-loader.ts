import { existsSync, readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/**
 * Imports TypeScript sources of the tree under check as they are, unbuilt, so
 * that the contract gate reads the same tree as every other rule (a copy with
 * a planted change, or the repository before `npm run build`). Each file is
 * transpiled on load, one at a time, with the repository's decorator settings:
 * class-validator and class-transformer metadata (and design:type) are then
 * exactly what the build registers. `./x.js` resolves to `./x.ts` when only
 * the latter exists, as the compiler resolves it. Nothing is type-checked here.
 */
const COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2023,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
  sourceMap: false,
};

const roots = new Set<string>();
/** JavaScript already emitted for a source (contract-outputs.ts), by absolute path. */
const compiled = new Map<string, string>();

/** Hands over JavaScript emitted elsewhere for these sources, so that they are not transpiled again. */
export function provideCompiled(files: ReadonlyMap<string, string>): void {
  for (const [file, text] of files) compiled.set(file, text);
}

function underRoot(path: string): boolean {
  if (path.split(sep).includes('node_modules')) return false;
  for (const root of roots) if (path.startsWith(root)) return true;
  return false;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, next) {
      if (context.parentURL?.startsWith('file:') && /^\.\.?\//.test(specifier) && specifier.endsWith('.js')) {
        const parent = fileURLToPath(context.parentURL);
        if (underRoot(parent)) {
          const candidate = new URL(specifier, context.parentURL);
          const asTs = new URL(`${candidate.href.slice(0, -'.js'.length)}.ts`);
          if (!existsSync(fileURLToPath(candidate)) && existsSync(fileURLToPath(asTs))) {
            return { url: asTs.href, format: 'module', shortCircuit: true };
          }
        }
      }
      return next(specifier, context);
    },
    load(url, context, next) {
      if (url.startsWith('file:') && url.endsWith('.ts')) {
        const path = fileURLToPath(url);
        if (underRoot(path)) {
          const source = compiled.get(path) ?? ts.transpileModule(readFileSync(path, 'utf8'), { compilerOptions: COMPILER_OPTIONS, fileName: path }).outputText;
          return { format: 'module', source, shortCircuit: true };
        }
      }
      return next(url, context);
    },
  });
}

/** Imports `<root>/<file>` (a .ts source), with everything it imports from the tree. */
export async function importSource(root: string, file: string): Promise<Record<string, unknown>> {
  roots.add(root.endsWith(sep) ? root : `${root}${sep}`);
  register();
  return (await import(pathToFileURL(`${root}${sep}${file}`).href)) as Record<string, unknown>;
}
