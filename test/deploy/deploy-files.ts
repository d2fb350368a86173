import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/**
 * What the deployment tests read: the module list, the documented process variables, the
 * compose file and the Kubernetes manifests, parsed. No Docker, no cluster: files only.
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const COMPOSE_FILE = join(ROOT, 'deploy/compose.yaml');
export const K8S_DIR = join(ROOT, 'deploy/k8s');
/** The image every store process runs (compose and Kubernetes). */
export const STORE_IMAGE = /^monolith-first(:|$)/;

/** The modules as the platform discovers them: every folder of src/modules with its composition root. */
export function discoveredModules(): string[] {
  const root = join(ROOT, 'src/modules');
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, `${entry.name}.module.ts`)))
    .map((entry) => entry.name)
    .sort();
}

/** The modules a module calls (module.json), which its process cannot be healthy without. */
export function callsOf(module: string): string[] {
  const file = join(ROOT, 'src/modules', module, 'module.json');
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { dependsOn?: Record<string, string> | string[] };
  const dependsOn = raw.dependsOn ?? {};
  return Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn).filter((name) => dependsOn[name] === 'calls');
}

/** topology.md's MODULES list: names a module that another branch may not have merged yet. */
export function topologyModules(): string[] {
  const topology = readFileSync(join(ROOT, 'docs/topology.md'), 'utf8');
  const row = /^\| `MODULES` \|[^|]*`([a-z_,]+)`/m.exec(topology);
  if (!row) throw new Error('docs/topology.md: no MODULES row naming the modules');
  return row[1].split(',');
}

export interface DocumentedVariables {
  /** Every variable a store process may be given. */
  readonly allowed: ReadonlySet<string>;
  /** What topology.md requires of a process of a distributed topology. */
  readonly required: readonly string[];
}

/**
 * topology.md's table (with `<MODULE>_DATABASE_URL` for each module), SERVICE_TOKEN from its
 * text, and the table of README's Configuration section.
 */
export function documentedVariables(modules: readonly string[]): DocumentedVariables {
  const topology = readFileSync(join(ROOT, 'docs/topology.md'), 'utf8');
  const table = [...topology.matchAll(/^\| `([A-Z<>_]+)` \|/gm)].map((match) => match[1]);
  const perModule = table.filter((name) => name.includes('<MODULE>'));
  const plain = table.filter((name) => !name.includes('<'));
  if (!topology.includes('`SERVICE_TOKEN`')) throw new Error('docs/topology.md no longer names SERVICE_TOKEN');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const configuration = /^## Configuration\n([\s\S]*?)^## /m.exec(readme)?.[1];
  if (!configuration) throw new Error('README.md: no Configuration section');
  const extras = [...configuration.matchAll(/^\| ([^|]+) \|/gm)].flatMap((match) =>
    [...match[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((name) => name[1]),
  );
  const allowed = new Set([
    ...plain,
    'SERVICE_TOKEN',
    ...perModule.flatMap((pattern) => modules.map((module) => pattern.replace('<MODULE>', module.toUpperCase()))),
    ...extras,
  ]);
  return { allowed, required: [...plain, 'SERVICE_TOKEN'] };
}

// ---- compose ----

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: Array<string | { source?: string; target: string }>;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** YAML merge keys (`<<: *store`) resolved, as Compose resolves them. */
export function readCompose(): ComposeFile {
  return parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as ComposeFile;
}

export function environmentOf(service: ComposeService): Record<string, string | undefined> {
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => [entry.split('=')[0], entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : undefined]));
  }
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, value === null ? undefined : String(value)]));
}

/** The compose-spec JSON schema as the dclint package ships it (kept current with the spec). */
export function composeSchema(): Record<string, unknown> {
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('dclint/package.json')), 'schemas/compose.schema.json');
  const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  // Its $schema is the https spelling of draft-07, which Ajv knows as http: the keywords are the same.
  delete schema.$schema;
  return schema;
}

// ---- Kubernetes ----

export interface Manifest {
  readonly file: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

export function readKustomization(): { resources: string[]; [field: string]: unknown } {
  return parse(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
}

export function manifestFiles(): string[] {
  return readdirSync(K8S_DIR)
    .filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml')
    .sort();
}

export function readManifests(): Manifest[] {
  return manifestFiles().flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S_DIR, file), 'utf8'))
      .map((document) => {
        if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0].message}`);
        return document.toJS() as Omit<Manifest, 'file'> | null;
      })
      .filter((manifest): manifest is Omit<Manifest, 'file'> => manifest !== null)
      .map((manifest) => ({ ...manifest, file }) as Manifest),
  );
}

/** The kubernetes-models entry point of an apiVersion: `v1` is the core group. */
export function modelsEntry(apiVersion: string): string {
  return `kubernetes-models/${apiVersion}`;
}
