import { dirname, join, relative, sep } from 'node:path';
import ts from 'typescript';
import type { Shape } from './contract-model.js';

/**
 * Result shapes, from the TypeScript types the contracts declare
 * (`query<GetOrderQuery, OrderView>(...)`): views are interfaces or plain
 * classes, with nothing of them at run time, and these types are what a
 * caller compiles against and what the handler must return.
 *
 * One type-checking program over the modules' public faces and what they
 * import from the tree; node_modules stays out (an import from a package is
 * `any` here), which keeps it to a few hundred milliseconds. TypeScript types
 * say `number`, never `integer`, and carry no lengths or bounds.
 *
 * The same parsed files are then emitted as JavaScript, file by file as the
 * build's isolatedModules allow (decorators and design:type as the build emits
 * them), for source-loader.ts to import: parsed once, no second compiler pass.
 */
export interface DeclaredOutputs {
  /** module -> operation -> result shape. */
  readonly outputs: Map<string, Map<string, Shape>>;
  /** Where a face's export (`<module>/<export>`) or an operation (`<module>.<operation>`) is declared, repository-relative. */
  readonly locations: Map<string, { file: string; line: number }>;
  /** JavaScript of every tree file the faces reach, by absolute path of its .ts. */
  readonly emitted: Map<string, string>;
}

export function outputShapes(root: string, faces: ReadonlyMap<string, string>): DeclaredOutputs {
  const libDir = dirname(ts.getDefaultLibFilePath({}));
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2023,
    lib: ['lib.es2023.d.ts'],
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options, true);
  const outside = (file: string) => file.split(/[\\/]/).includes('node_modules') && !file.startsWith(libDir);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => !outside(file) && fileExists(file);
  const files = [...faces.values()].map((file) => join(root, file));
  const program = ts.createProgram({ rootNames: files, options, host });
  const checker = program.getTypeChecker();
  const outputs = new Map<string, Map<string, Shape>>();
  const locations = new Map<string, { file: string; line: number }>();
  const locate = (key: string, declaration: ts.Declaration | undefined) => {
    if (!declaration) return;
    const source = declaration.getSourceFile();
    const file = relative(root, source.fileName).split(sep).join('/');
    locations.set(key, { file, line: source.getLineAndCharacterOfPosition(declaration.getStart(source)).line + 1 });
  };
  for (const [module, file] of faces) {
    const source = program.getSourceFile(join(root, file));
    const symbol = source && checker.getSymbolAtLocation(source);
    if (!symbol) continue;
    for (const exported of checker.getExportsOfModule(symbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      locate(`${module}/${exported.name}`, target.declarations?.[0]);
      if (!(target.flags & ts.SymbolFlags.Value)) continue;
      const type = checker.getTypeOfSymbol(target);
      const operations = type.getProperty('operations');
      if (!type.getProperty('module') || !operations || !type.getProperty('client')) continue;
      const shapes = new Map<string, Shape>();
      for (const operation of checker.getTypeOfSymbol(operations).getProperties()) {
        const spec = checker.getTypeOfSymbol(operation);
        const output = spec.getProperty('__output');
        locate(`${module}.${operation.name}`, operation.valueDeclaration);
        shapes.set(operation.name, output ? new OutputWalker(checker).shape(checker.getTypeOfSymbol(output), true) : { type: 'unknown' });
      }
      outputs.set(module, shapes);
    }
  }
  return { outputs, locations, emitted: emit(program, options, libDir) };
}

class OutputWalker {
  private readonly seen: ts.Type[] = [];

  constructor(private readonly checker: ts.TypeChecker) {}

  /** `optional`: the type of an optional property, whose `undefined` is the property's absence, not a value. */
  shape(type: ts.Type, optional = false): Shape {
    const checker = this.checker;
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return { type: 'unknown' };
    if (type.flags & (ts.TypeFlags.Void | ts.TypeFlags.Undefined)) return { type: 'void' };
    if (type.flags & ts.TypeFlags.Null) return { type: 'null' };
    if (type.isUnion()) {
      let members = type.types;
      const nullable = members.some((t) => t.flags & ts.TypeFlags.Null);
      members = members.filter((t) => !(t.flags & ts.TypeFlags.Null) && !(optional && t.flags & ts.TypeFlags.Undefined));
      let shape: Shape;
      if (members.length > 0 && members.every((t) => t.flags & ts.TypeFlags.BooleanLiteral)) shape = { type: 'boolean' };
      else if (members.length > 0 && members.every((t) => t.isStringLiteral())) {
        shape = { type: 'string', enum: members.map((t) => t.value).sort() };
      } else if (members.length > 0 && members.every((t) => t.isNumberLiteral())) {
        shape = { type: 'number', enum: members.map((t) => t.value).sort((a, b) => a - b) };
      } else if (members.length === 1) shape = this.shape(members[0]);
      else {
        const shapes = members.map((t) => this.shape(t));
        const unique = [...new Map(shapes.map((s) => [JSON.stringify(s), s])).values()];
        shape = unique.length === 1 ? unique[0] : { anyOf: unique.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) };
      }
      return nullable ? { ...shape, nullable: true } : shape;
    }
    if (type.flags & ts.TypeFlags.StringLike) return type.isStringLiteral() ? { type: 'string', enum: [type.value] } : { type: 'string' };
    if (type.flags & ts.TypeFlags.NumberLike) return type.isNumberLiteral() ? { type: 'number', enum: [type.value] } : { type: 'number' };
    if (type.flags & ts.TypeFlags.BooleanLike) return { type: 'boolean' };
    if (checker.isArrayType(type) || checker.isTupleType(type)) {
      const [element] = checker.getTypeArguments(type as ts.TypeReference);
      return { type: 'array', items: element ? this.shape(element) : { type: 'unknown' } };
    }
    if (type.flags & ts.TypeFlags.Object) {
      const name = type.getSymbol()?.getName();
      // JSON.stringify turns a Date into its ISO string.
      if (name === 'Date') return { type: 'string', format: 'date-time' };
      if (this.seen.includes(type)) return { type: 'object', $ref: name ?? 'anonymous' };
      this.seen.push(type);
      try {
        const properties: Record<string, Shape> = {};
        const required: string[] = [];
        for (const property of checker.getPropertiesOfType(type)) {
          const propertyType = checker.getTypeOfSymbol(property);
          // Methods do not survive JSON.
          if (propertyType.getCallSignatures().length > 0) continue;
          const isOptional = (property.flags & ts.SymbolFlags.Optional) !== 0;
          properties[property.name] = this.shape(propertyType, isOptional);
          if (!isOptional) required.push(property.name);
        }
        return { type: 'object', properties, required: required.sort() };
      } finally {
        this.seen.pop();
      }
    }
    return { type: 'unknown' };
  }
}

function emit(program: ts.Program, options: ts.CompilerOptions, libDir: string): Map<string, string> {
  const files = new Map(
    program
      .getSourceFiles()
      .filter((file) => !file.fileName.startsWith(libDir))
      .map((file) => [file.fileName, file]),
  );
  // Without lib or resolution, as transpileModule does: emitting does not type-check each file.
  const isolated: ts.CompilerOptions = { ...options, lib: undefined, noLib: true, noResolve: true, isolatedModules: true, sourceMap: false };
  const host = ts.createCompilerHost(isolated, true);
  host.getSourceFile = (name) => files.get(name);
  const emitted = new Map<string, string>();
  const byOutput = new Map([...files.keys()].map((name) => [name.replace(/\.ts$/, '.js'), name]));
  ts.createProgram({ rootNames: [...files.keys()], options: isolated, host }).emit(undefined, (name, text) => {
    const source = byOutput.get(name);
    if (source) emitted.set(source, text);
  });
  return emitted;
}
