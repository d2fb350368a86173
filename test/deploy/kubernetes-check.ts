import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { K8S_DIR, KUBECTL, KUSTOMIZATIONS, kustomize, type Manifest, manifestFiles, modelsEntry, parseStrictYaml, readManifests, ROOT } from './deploy-files.js';

/**
 * The check the suite makes of a deploy/k8s tree: every file parsed as strict YAML 1.2, each
 * kustomization rendered by `kubectl kustomize` (where kubectl is installed), and every object
 * (rendered, or read from the files without kubectl) valid against the Kubernetes API schemas
 * (kubernetes-models) and free of fields the Kubernetes types do not know. `[]` when all holds.
 */
export async function manifestProblems(k8sDir = K8S_DIR): Promise<string[]> {
  let objects: Manifest[];
  try {
    for (const kustomization of KUSTOMIZATIONS) {
      const dir = join(k8sDir, kustomization);
      for (const file of ['kustomization.yaml', ...manifestFiles(dir)]) parseStrictYaml(readFileSync(join(dir, file), 'utf8'), join(kustomization, file));
    }
    objects = KUBECTL ? KUSTOMIZATIONS.flatMap((kustomization) => kustomize(join(k8sDir, kustomization))) : readManifests(k8sDir);
  } catch (error) {
    return [(error as Error).message];
  }
  // The types' check compiles every object (seconds): only when the schemas found nothing.
  const schema = await schemaProblems(objects);
  return schema.length > 0 ? schema : typeProblems(objects);
}

/** Each object against its kind's schema from the Kubernetes API (wrong types, missing fields). */
export async function schemaProblems(objects: readonly Manifest[]): Promise<string[]> {
  const problems: string[] = [];
  for (const { file, ...data } of objects) {
    const where = `${file}: ${data.kind} ${data.metadata?.name}`;
    const models = (await import(modelsEntry(data.apiVersion)).catch(() => ({}))) as Record<string, new (data: unknown) => { validate(): void }>;
    const Model = models[data.kind];
    if (typeof Model !== 'function') {
      problems.push(`${where}: no schema for ${data.apiVersion} ${data.kind}`);
      continue;
    }
    try {
      new Model(data).validate();
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return problems;
}

/**
 * Fields the Kubernetes types do not know (a typo the API schema lets through: its schemas
 * allow unknown fields, the server drops or refuses them): the objects compiled as TypeScript
 * values of the kubernetes-models interfaces.
 */
export function typeProblems(objects: readonly Manifest[]): string[] {
  const typeName = (object: Manifest) => `${object.kind}${object.apiVersion.replace(/\W/g, '_')}`;
  const source = [
    ...new Set(objects.map((object) => `import type { I${object.kind} as ${typeName(object)} } from '${modelsEntry(object.apiVersion)}';`)),
    ...objects.map(({ file, ...data }, index) => `// ${file}: ${data.kind} ${data.metadata?.name}\nexport const m${index}: ${typeName({ file, ...data })} = ${JSON.stringify(data, null, 1)};`),
  ].join('\n');
  const virtual = join(ROOT, 'test/deploy/__manifests__.ts');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) => (name === virtual ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === virtual || fileExists(name);
  const program = ts.createProgram([virtual], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start) : undefined;
    const line = where ? source.split('\n').slice(0, where.line + 1).reverse().find((text) => text.startsWith('// ')) : '';
    return `${line ?? ''} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
}
