import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/**
 * What the deployment tests read: the module list, the documented process variables, the
 * compose file and the Kubernetes manifests, parsed strictly and rendered by the tools an
 * operator runs (kubectl kustomize, dclint), with credentials made by the project's commands.
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
  /** Required of every process: where it runs and how it reaches the others. */
  readonly wiring: readonly string[];
  /** Required of the process hosting a module: its database, and what topology.md ties to that module. */
  requiredFor(module: string): string[];
}

/**
 * What a process must be given is not "every variable of topology.md" (the gateway hosts no
 * module and must hold no database URL, issue 26; `DELIVERY_DEADLINE_MS` has a default):
 * - every process: MODULES, GATEWAY, PORT, TRANSPORT and NATS_URL, since a default would silently
 *   make it another process (MODULES' default hosts every module) or aim it at a local NATS;
 * - the process hosting a module: `<MODULE>_DATABASE_URL` (its role's URL; the admin
 *   DATABASE_URL is the provisioning Job's alone, ADR 15), and each variable topology.md ties to
 *   that module by citing its section of store-api.md (`CARRIER_WEBHOOK_SECRET`: "(store-api.md,
 *   Shipping)"): unset, that module's feature is off;
 * - the rest has a default or is optional, and may be given when documented.
 * Trust (NATS users) is checked apart. topology.md's table and SERVICE_TOKEN, plus the variables
 * .env.example lists, are what may be given.
 */
export function documentedVariables(modules: readonly string[]): DocumentedVariables {
  const topology = readFileSync(join(ROOT, 'docs/topology.md'), 'utf8');
  const rows = [...topology.matchAll(/^\| ([^|]+) \| ([^|]*) \|/gm)].map((match) => ({
    names: [...match[1].matchAll(/`([A-Z<>_]+)`/g)].map((name) => name[1]),
    meaning: match[2],
  }));
  const table = rows.flatMap((row) => row.names);
  const perModule = table.filter((name) => name.includes('<MODULE>'));
  const plain = table.filter((name) => !name.includes('<'));
  if (!topology.includes('`SERVICE_TOKEN`')) throw new Error('docs/topology.md no longer names SERVICE_TOKEN');
  const wiring = ['MODULES', 'GATEWAY', 'PORT', 'TRANSPORT', 'NATS_URL'];
  for (const name of [...wiring, 'DATABASE_URL']) if (!plain.includes(name)) throw new Error(`docs/topology.md's table no longer has ${name}`);
  const owned = rows.flatMap((row) => {
    const section = /store-api\.md, ([A-Z][a-z]+)/.exec(row.meaning)?.[1]?.toLowerCase();
    return section === undefined ? [] : row.names.map((name) => ({ name, module: section }));
  });
  // The rest the code reads is listed in .env.example (test/docs/env-example.spec.ts keeps it complete).
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
  const extras = [...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]);
  const allowed = new Set([
    ...plain,
    'SERVICE_TOKEN',
    ...perModule.flatMap((pattern) => modules.map((module) => pattern.replace('<MODULE>', module.toUpperCase()))),
    ...extras,
  ]);
  return {
    allowed,
    wiring,
    requiredFor: (module) => [
      ...perModule.filter((pattern) => pattern.endsWith('_DATABASE_URL')).map((pattern) => pattern.replace('<MODULE>', module.toUpperCase())),
      ...owned.filter((each) => each.module === module).map((each) => each.name),
    ],
  };
}

// ---- YAML, strictly ----

/**
 * YAML 1.2 as strictly as the `yaml` package reads it: duplicate keys, merge keys (`<<`, which
 * Kubernetes does not resolve) and every warning are errors. kubectl's own parser is stricter
 * still in places (a `?` inside a flow mapping): kustomize runs too where kubectl is installed.
 */
export function parseStrictYaml(text: string, file: string): unknown[] {
  const documents = parseAllDocuments(text, { version: '1.2', strict: true, uniqueKeys: true, merge: false, prettyErrors: false });
  const list = Array.isArray(documents) ? documents : [];
  for (const document of list) {
    const problem = document.errors[0] ?? document.warnings[0];
    if (problem) throw new Error(`${file}: ${problem.message.split('\n')[0]}`);
  }
  return list.map((document) => document.toJS({ maxAliasCount: 0 }) as unknown).filter((value) => value !== null && value !== undefined);
}

// ---- credentials, made by the project's commands ----

/** The built CLIs (the tests build first; a clear failure without a build). */
function cli(name: string): string {
  const file = join(ROOT, 'dist/src/cli', `${name}.cli.js`);
  if (!existsSync(file)) throw new Error(`no build at ${file}: run \`npm run build\` first`);
  return file;
}

function run(name: string, args: string[], env: Record<string, string> = {}): string {
  const result = spawnSync(process.execPath, [cli(name), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  if (result.status !== 0) throw new Error(`${name} ${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** The sample carrier secret the tests write where the operator writes the carrier's. */
export const SAMPLE_CARRIER_SECRET = 'carrier-signing-secret-for-tests';

/**
 * Writes the files an operator's commands write (README, Deploying) into `dir`: the NATS server's
 * users (`nats-auth > nats-auth.conf`), each process kind's NATS user (`nats-auth --env-dir`), each
 * module's role URL (`provision --offline --env-dir`, from `adminUrl` and a role secret), the
 * carrier's secret.
 */
export function writeCredentials(dir: string, adminUrl: string, roleSecret: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'nats-auth.conf'), run('nats-auth', ['--env-dir', dir]), { mode: 0o600 });
  run('provision', ['--offline', '--env-dir', dir], { DATABASE_URL: adminUrl, DB_ROLE_SECRET: roleSecret });
  writeFileSync(join(dir, 'carrier.env'), `CARRIER_WEBHOOK_SECRET=${SAMPLE_CARRIER_SECRET}\n`, { mode: 0o600 });
}

export const SAMPLE_ADMIN_URL = { k8s: 'postgres://store_admin:admin-password@postgres.example.internal:5432/store', compose: 'postgres://postgres:admin-password@postgres:5432/store' };
export const SAMPLE_ROLE_SECRET = 'role-secret-for-tests';

/**
 * A copy of deploy/ (in a temporary directory) with the credentials an operator generates, so
 * that the files render as they do for a user: the real ones are never committed.
 */
export function deployWithCredentials(source = join(ROOT, 'deploy')): string {
  const root = mkdtempSync(join(tmpdir(), 'mf-deploy-'));
  const deploy = join(root, 'deploy');
  cpSync(source, deploy, { recursive: true, filter: (path) => !/\/secrets(\/|$)/.test(path.slice(source.length)) });
  writeAllCredentials(deploy);
  return deploy;
}

/** A copy of a deploy/ tree as it is, credentials included (to plant an error in). */
export function copyDeploy(source: string): string {
  const deploy = join(mkdtempSync(join(tmpdir(), 'mf-deploy-')), 'deploy');
  cpSync(source, deploy, { recursive: true });
  return deploy;
}

function writeAllCredentials(deploy: string): void {
  writeCredentials(join(deploy, 'k8s/secrets'), SAMPLE_ADMIN_URL.k8s, SAMPLE_ROLE_SECRET);
  writeCredentials(join(deploy, 'secrets'), SAMPLE_ADMIN_URL.compose, SAMPLE_ROLE_SECRET);
  mkdirSync(join(deploy, 'k8s/provision/secrets'), { recursive: true });
  writeFileSync(join(deploy, 'k8s/provision/secrets/admin.env'), `DATABASE_URL=${SAMPLE_ADMIN_URL.k8s}\nDB_ROLE_SECRET=${SAMPLE_ROLE_SECRET}\n`, { mode: 0o600 });
}

/** Reads a KEY=VALUE env file as Compose and kustomize's secretGenerator read it. */
export function readEnvFile(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

// ---- compose ----


export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: string | string[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: Array<string | { source?: string; target: string }>;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** YAML merge keys (`<<: *store`) resolved, as Compose resolves them; duplicate keys refused. */
export function readCompose(file = COMPOSE_FILE): ComposeFile {
  return parse(readFileSync(file, 'utf8'), { merge: true, uniqueKeys: true, strict: true }) as ComposeFile;
}

/** A service's variables: its env_file(s) (relative to the compose file in `dir`), then environment, which wins. */
export function environmentOf(service: ComposeService, dir?: string): Record<string, string | undefined> {
  const files = service.env_file === undefined ? [] : [service.env_file].flat();
  const fromFiles = Object.assign({}, ...files.map((file) => (dir === undefined ? {} : readEnvFile(join(dir, file))))) as Record<string, string>;
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) {
    return {
      ...fromFiles,
      ...Object.fromEntries(environment.map((entry) => [entry.split('=')[0], entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : undefined])),
    };
  }
  return { ...fromFiles, ...Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, value === null ? undefined : String(value)])) };
}

/** dclint, the compose linter (the compose-spec schema among its rules): its errors, as lines. */
export function dclintErrors(file: string): string[] {
  const bin = join(dirname(createRequire(import.meta.url).resolve('dclint/package.json')), 'bin/dclint.cjs');
  const result = spawnSync(process.execPath, [bin, file, '--quiet', '--formatter', 'json', '--color', 'false'], { encoding: 'utf8' });
  let report: Array<{ messages: Array<{ rule: string; message: string; line: number }> }>;
  try {
    report = JSON.parse(result.stdout) as typeof report;
  } catch {
    return [`dclint did not report (exit ${result.status}): ${result.stderr.split('\n')[0]}`];
  }
  return report.flatMap((each) => each.messages.map((message) => `${message.line}: ${message.rule}: ${message.message}`));
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

/** The kustomizations of deploy/k8s, in the order they are applied (README, Deploying). */
export const KUSTOMIZATIONS = ['provision', '.'] as const;

/** The manifest files a kustomization directory holds itself (not its subdirectories'). */
export function manifestFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml')
    .sort();
}

export function readKustomization(dir: string): { resources: string[]; [field: string]: unknown } {
  return parseStrictYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'), join(dir, 'kustomization.yaml'))[0] as { resources: string[] };
}

/** Whether kubectl is here; where it is not (a user's laptop), the tests that need it say so loudly. */
export const KUBECTL = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).error === undefined;

/** `kubectl kustomize dir`, parsed strictly: the objects `kubectl apply -k` would send. */
export function kustomize(dir: string): Manifest[] {
  const rendered = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (rendered.status !== 0 || rendered.stderr !== '') throw new Error(`kubectl kustomize ${dir}: exit ${rendered.status}: ${rendered.stderr.trim().split('\n')[0]}`);
  return parseStrictYaml(rendered.stdout, `kubectl kustomize ${dir}`).map((object) => {
    const manifest = { ...(object as Omit<Manifest, 'file'>), file: dir } as Manifest & { data?: Record<string, string> };
    // kubectl wraps a long Secret value's base64 over lines; the API server's decoder (Go's) skips newlines.
    if (manifest.kind === 'Secret' && manifest.data) manifest.data = Object.fromEntries(Object.entries(manifest.data).map(([key, value]) => [key, value.replace(/\s/g, '')]));
    return manifest;
  });
}

/** Every manifest file of every kustomization, parsed strictly (what a laptop without kubectl checks). */
export function readManifests(k8sDir = K8S_DIR): Manifest[] {
  return KUSTOMIZATIONS.flatMap((kustomization) => {
    const dir = join(k8sDir, kustomization);
    return manifestFiles(dir).flatMap((file) =>
      parseStrictYaml(readFileSync(join(dir, file), 'utf8'), join(kustomization, file)).map((object) => ({ ...(object as Omit<Manifest, 'file'>), file }) as Manifest),
    );
  });
}

/** The kubernetes-models entry point of an apiVersion: `v1` is the core group. */
export function modelsEntry(apiVersion: string): string {
  return `kubernetes-models/${apiVersion}`;
}
