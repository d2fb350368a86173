import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository: the folder above this file (sources or a build inside it) that holds deploy/. */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'deploy/k8s/kustomization.yaml')) || !existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('multi-host: no deploy/k8s above this file');
    dir = parent;
  }
  return dir;
})();

/** A file of the build: beside this one when it runs from the build, else in the checkout's dist/. */
export function built(relative: string): string {
  const candidates = [fileURLToPath(new URL(`../../${relative}`, import.meta.url)), join(REPO_ROOT, 'dist', relative)];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new Error(`no build of ${relative}: run \`npm run build\` first`);
  return found;
}

/** A NATS user for a process kind the manifests do not have (a monolith, an extracted module's rest): `nats-auth --user`. */
export interface ExtraNatsUser {
  readonly user: string;
  readonly modules: readonly string[];
  readonly gateway: boolean;
}

export interface KubernetesEnvOptions {
  readonly modules: readonly string[];
  /** The admin URL the operator writes into provision/secrets/admin.env (host names as the cluster resolves them). */
  readonly adminUrl: string;
  readonly roleSecret: string;
  readonly carrierSecret: string;
  readonly extraUsers?: readonly ExtraNatsUser[];
}

export interface StoreContainer {
  readonly deployment: string;
  readonly replicas: number;
  /** The container's environment as the kubelet gives it: the image's ENV, then envFrom (in order), then env. */
  readonly env: Readonly<Record<string, string>>;
}

export interface RenderedKubernetes {
  /** The store's Deployments by name (inventory, …, gateway). */
  readonly stores: ReadonlyMap<string, StoreContainer>;
  /** The provisioning Job's container: its command and environment. */
  readonly provision: { readonly command: readonly string[]; readonly env: Readonly<Record<string, string>> };
  /** The NATS StatefulSet: replicas, its nats.conf (ConfigMap) and the users file (Secret). */
  readonly nats: { readonly replicas: number; readonly config: string; readonly auth: string; readonly image: string };
  /** The shared ConfigMap's data (store-config). */
  readonly storeConfig: Readonly<Record<string, string>>;
  /** Per module, what its Deployment's Secret holds besides the NATS user (its role's URL, CARRIER_WEBHOOK_SECRET, …). */
  readonly moduleSecrets: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** NATS_USER and NATS_PASSWORD of each extra user. */
  readonly extraUsers: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** The image's ENV (Dockerfile, runtime stage). */
  readonly imageEnv: Readonly<Record<string, string>>;
}

interface KeyRef {
  name: string;
  key: string;
}

interface EnvVar {
  name: string;
  value?: string | number;
  valueFrom?: { secretKeyRef?: KeyRef; configMapKeyRef?: KeyRef; fieldRef?: { fieldPath: string } };
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
}

/** What is read of a workload (Deployment, StatefulSet, Job); ConfigMaps and Secrets have no spec and their spec is never read. */
interface WorkloadSpec {
  replicas?: number;
  template: { spec: { containers: Container[]; volumes?: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }> } };
}

interface K8sObject {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec: WorkloadSpec;
}

/**
 * Renders deploy/k8s as an operator does (README, Deploying): a copy of the files with the
 * credentials the project's commands write (`nats-auth --env-dir`, `provision --offline
 * --env-dir`, the carrier's secret, provision/secrets/admin.env), then `kubectl kustomize` on both
 * kustomizations, and each container's environment resolved from its ConfigMap and Secret
 * references. Nothing of the store's wiring is invented here: what the harness adds is only where
 * the host names point (a resolver file per host, host-network.ts).
 */
export function renderKubernetes(options: KubernetesEnvOptions): RenderedKubernetes {
  const root = mkdtempSync(join(tmpdir(), 'mf-hosts-k8s-'));
  try {
    const k8s = join(root, 'k8s');
    cpSync(join(REPO_ROOT, 'deploy/k8s'), k8s, { recursive: true, filter: (path) => !/\/secrets(\/|$)/.test(path.slice(REPO_ROOT.length)) });
    const secrets = join(k8s, 'secrets');
    mkdirSync(secrets, { recursive: true, mode: 0o700 });
    // The manifests' users (one per module, the gateway) and the extra process kinds' users, in one server file.
    const users = [
      ...options.modules.map((module) => `${module}=${module}`),
      'gateway=:gateway',
      ...(options.extraUsers ?? []).map((u) => `${u.user}=${u.modules.join(',')}${u.gateway ? ':gateway' : ''}`),
    ];
    const auth = cli('nats-auth', [...users.flatMap((user) => ['--user', user]), '--env-dir', secrets], {});
    writeFileSync(join(secrets, 'nats-auth.conf'), auth, { mode: 0o600 });
    cli('provision', ['--offline', '--env-dir', secrets], { DATABASE_URL: options.adminUrl, DB_ROLE_SECRET: options.roleSecret });
    writeFileSync(join(secrets, 'carrier.env'), `CARRIER_WEBHOOK_SECRET=${options.carrierSecret}\n`, { mode: 0o600 });
    mkdirSync(join(k8s, 'provision/secrets'), { recursive: true, mode: 0o700 });
    writeFileSync(join(k8s, 'provision/secrets/admin.env'), `DATABASE_URL=${options.adminUrl}\nDB_ROLE_SECRET=${options.roleSecret}\n`, { mode: 0o600 });

    const objects = [...kustomize(join(k8s, 'provision')), ...kustomize(k8s)];
    const imageEnv = dockerfileEnv(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
    const byKind = (kind: string) => objects.filter((object) => object.kind === kind);
    const configMaps = new Map(byKind('ConfigMap').map((object) => [object.metadata.name, object.data ?? {}]));
    const secretsByName = new Map(
      byKind('Secret').map((object) => [
        object.metadata.name,
        Object.fromEntries(Object.entries(object.data ?? {}).map(([key, value]) => [key, Buffer.from(value.replace(/\s/g, ''), 'base64').toString('utf8')])),
      ]),
    );
    const containerEnv = (container: Container): Record<string, string> => {
      const env: Record<string, string> = { ...imageEnv };
      for (const source of container.envFrom ?? []) {
        const ref = (source.configMapRef ?? source.secretRef)!;
        const data = source.configMapRef ? configMaps.get(ref.name) : secretsByName.get(ref.name);
        if (!data) throw new Error(`container ${container.name}: envFrom names '${ref.name}', which the kustomization does not render`);
        Object.assign(env, data);
      }
      for (const variable of container.env ?? []) {
        if (variable.value !== undefined) env[variable.name] = String(variable.value);
        else if (variable.valueFrom?.secretKeyRef)
          env[variable.name] = secretsByName.get(variable.valueFrom.secretKeyRef.name)?.[variable.valueFrom.secretKeyRef.key] ?? '';
        else if (variable.valueFrom?.configMapKeyRef)
          env[variable.name] = configMaps.get(variable.valueFrom.configMapKeyRef.name)?.[variable.valueFrom.configMapKeyRef.key] ?? '';
        else if (variable.valueFrom?.fieldRef) env[variable.name] = `<${variable.valueFrom.fieldRef.fieldPath}>`;
      }
      return env;
    };
    const stores = new Map<string, StoreContainer>();
    for (const deployment of byKind('Deployment')) {
      const container = deployment.spec.template.spec.containers.find((c) => /^monolith-first[:@]/.test(c.image) || c.image === 'monolith-first');
      if (!container) continue;
      stores.set(deployment.metadata.name, { deployment: deployment.metadata.name, replicas: deployment.spec.replicas ?? 1, env: containerEnv(container) });
    }
    const job = byKind('Job').find((object) => object.metadata.name === 'provision');
    if (!job) throw new Error('deploy/k8s/provision renders no Job provision');
    const jobContainer = job.spec.template.spec.containers[0];
    const statefulSet = byKind('StatefulSet').find((object) => object.metadata.name === 'nats');
    if (!statefulSet) throw new Error('deploy/k8s renders no StatefulSet nats');
    const volumes = statefulSet.spec.template.spec.volumes ?? [];
    const configMapName = volumes.find((volume) => volume.configMap)!.configMap!.name;
    const authName = volumes.find((volume) => volume.secret)!.secret!.secretName;
    const storeConfigName = [...configMaps.keys()].find((name) => name.startsWith('store-config'))!;
    const moduleSecrets = new Map<string, Record<string, string>>();
    const extraUsers = new Map<string, Record<string, string>>();
    for (const module of options.modules) {
      const store = stores.get(module);
      if (!store) throw new Error(`deploy/k8s renders no Deployment for module '${module}'`);
      const ref = containerSecretName(objects, module);
      const { NATS_USER: _user, NATS_PASSWORD: _password, ...rest } = secretsByName.get(ref) ?? {};
      moduleSecrets.set(module, rest);
    }
    for (const user of options.extraUsers ?? []) extraUsers.set(user.user, readEnv(join(secrets, `${user.user}.env`)));
    return {
      stores,
      provision: { command: jobContainer.command ?? [], env: containerEnv(jobContainer) },
      nats: {
        replicas: statefulSet.spec.replicas ?? 1,
        config: configMaps.get(configMapName)!['nats.conf'],
        auth: secretsByName.get(authName)!['nats-auth.conf'],
        image: statefulSet.spec.template.spec.containers[0].image,
      },
      storeConfig: configMaps.get(storeConfigName) ?? {},
      moduleSecrets,
      extraUsers,
      imageEnv,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The Secret a module's Deployment takes its credentials from (the generator's hashed name). */
function containerSecretName(objects: readonly K8sObject[], deployment: string): string {
  const object = objects.find((each) => each.kind === 'Deployment' && each.metadata.name === deployment)!;
  const refs = (object.spec.template.spec.containers[0].envFrom ?? []).filter((source) => source.secretRef);
  return refs[0].secretRef!.name;
}

function kustomize(dir: string): K8sObject[] {
  const rendered = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (rendered.error) throw new Error('kubectl is not installed: the manifests cannot be rendered (`kubectl kustomize`)');
  if (rendered.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${rendered.stderr.trim().split('\n')[0]}`);
  return parseAllDocuments(rendered.stdout)
    .map((document) => document.toJS() as K8sObject)
    .filter(Boolean);
}

/** The ENV instructions of the Dockerfile's last stage (what every container of the image starts with). */
export function dockerfileEnv(text: string): Record<string, string> {
  const stages = text.split(/^FROM\s/m);
  const last = stages.at(-1) ?? '';
  const env: Record<string, string> = {};
  for (const match of last.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of match[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) env[pair[1]] = pair[2].replace(/^"|"$/g, '');
  }
  return env;
}

function readEnv(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

function cli(name: string, args: readonly string[], env: Record<string, string>): string {
  const result = spawnSync(process.execPath, [built(`src/cli/${name}.cli.js`), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  if (result.status !== 0)
    throw new Error(`${name} ${args.filter((arg) => !arg.includes('=')).join(' ')}: exit ${result.status}: ${result.stderr.trim().split('\n')[0]}`);
  return result.stdout;
}
