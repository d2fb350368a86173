import { Ajv } from 'ajv';
import { type Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import {
  callsOf,
  COMPOSE_FILE,
  type ComposeService,
  composeSchema,
  discoveredModules,
  documentedVariables,
  environmentOf,
  K8S_DIR,
  type Manifest,
  manifestFiles,
  modelsEntry,
  readCompose,
  readKustomization,
  readManifests,
  ROOT,
  STORE_IMAGE,
  topologyModules,
} from './deploy-files.js';

/**
 * The deployment files, validated offline (no Docker engine or cluster on this machine): the
 * compose file against the compose-spec schema, the Kubernetes manifests against the
 * Kubernetes API schemas (kubernetes-models) and its TypeScript types (which, unlike the API's
 * OpenAPI schema, refuse unknown fields), the Dockerfile parsed. Modules come from src/modules,
 * so a new module without deployment entries fails here.
 */

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

function expectDocumentedVariables(process: Process): void {
  const undocumented = Object.keys(process.env).filter((name) => !variables.allowed.has(name));
  expect({ where: process.where, undocumented }).toEqual({ where: process.where, undocumented: [] });
  const missing = variables.required.filter((name) => process.env[name] === undefined);
  expect({ where: process.where, missing }).toEqual({ where: process.where, missing: [] });
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
    const cmd = named(runtime, 'CMD').map(args);
    expect(cmd.map((value) => JSON.parse(value) as string[])).toEqual([['node', '--enable-source-maps', 'dist/src/main.js']]);
  });

  it('keeps local dependencies, builds and data out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.data', '.git']));
  });
});

describe('compose (deploy/compose.yaml)', () => {
  const compose = readCompose();
  const storeServices = Object.entries(compose.services).filter(([, service]) => STORE_IMAGE.test(service.image ?? ''));
  const processes = storeServices.map(([name, service]) => processOf(`compose service ${name}`, environmentOf(service)));

  it('is valid against the compose-spec JSON schema', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(composeSchema());
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('runs each module of src/modules as exactly one process, plus a gateway hosting none', () => {
    expectMicroservices(processes);
  });

  it('gives every store process only documented variables, and every one topology.md requires', () => {
    for (const process of processes) expectDocumentedVariables(process);
    for (const process of processes.filter((each) => !each.gateway)) expect(process.env.GATEWAY).toBe('off');
  });

  it('checks every process on /health and starts it once what it needs is healthy', () => {
    const services = compose.services;
    const dependsOn = (service: ComposeService) =>
      Array.isArray(service.depends_on) ? {} : Object.fromEntries(Object.entries(service.depends_on ?? {}).map(([name, dep]) => [name, dep.condition]));
    const hostOf = (module: string) => storeServices.find(([, service]) => environmentOf(service).MODULES === module)?.[0];
    for (const [name, service] of storeServices) {
      expect({ name, test: JSON.stringify(service.healthcheck?.test ?? '') }).toEqual({ name, test: expect.stringMatching(/\/health\b/) });
      const env = environmentOf(service);
      const needs = ['nats', 'postgres'];
      if (env.GATEWAY === 'on') needs.push(...modules.map((module) => hostOf(module)!));
      for (const module of env.MODULES ? env.MODULES.split(',') : []) {
        if (modules.includes(module)) needs.push(...callsOf(module).map((callee) => hostOf(callee)!));
      }
      const conditions = dependsOn(service);
      for (const need of needs) expect({ name, need, condition: conditions[need] }).toEqual({ name, need, condition: 'service_healthy' });
    }
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['nats', 'postgres']));
    for (const infrastructure of ['nats', 'postgres']) expect(services[infrastructure].healthcheck?.test).toBeDefined();
  });

  it('runs NATS with JetStream on a volume', () => {
    const nats = compose.services.nats;
    const command = Array.isArray(nats.command) ? nats.command : (nats.command ?? '').split(/\s+/);
    expect(command).toContain('-js');
    const storeDir = command[command.indexOf('-sd') + 1];
    const volumes = (nats.volumes ?? []).map((volume) => (typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target]));
    expect(volumes.some(([source, target]) => target === storeDir && source !== undefined && source in (compose.volumes ?? {}))).toBe(true);
  });
});

describe('Kubernetes (deploy/k8s)', () => {
  const manifests = readManifests();
  const ofKind = (kind: string) => manifests.filter((manifest) => manifest.kind === kind);
  type Container = {
    name: string;
    image: string;
    ports?: Array<{ name?: string; containerPort: number }>;
    env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string } } }>;
    envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
    readinessProbe?: { httpGet?: { path?: string; port: string | number } };
    livenessProbe?: { httpGet?: { path?: string; port: string | number } };
    startupProbe?: { httpGet?: { path?: string; port: string | number } };
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  };
  type Workload = Manifest & {
    spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } } };
  };
  const deployments = ofKind('Deployment') as Workload[];
  const storeDeployments = deployments.filter((deployment) => deployment.spec.template.spec.containers.some((container) => STORE_IMAGE.test(container.image)));
  const configMaps = new Map(ofKind('ConfigMap').map((map) => [map.metadata.name, (map as Manifest & { data?: Record<string, string> }).data ?? {}]));
  const secrets = new Map(
    ofKind('Secret').map((secret) => {
      const { data, stringData } = secret as Manifest & { data?: Record<string, string>; stringData?: Record<string, string> };
      return [secret.metadata.name, { ...data, ...stringData }];
    }),
  );
  const storeContainer = (deployment: Workload) => deployment.spec.template.spec.containers.find((container) => STORE_IMAGE.test(container.image))!;

  /** A container's variables: envFrom's ConfigMap keys first, then env (which wins, as in Kubernetes). */
  function environment(container: Container): Record<string, string | undefined> {
    const env: Record<string, string | undefined> = {};
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef) Object.assign(env, configMaps.get(source.configMapRef.name));
      if (source.secretRef) Object.assign(env, secrets.get(source.secretRef.name));
    }
    for (const variable of container.env ?? []) {
      const secretRef = variable.valueFrom?.secretKeyRef;
      const mapRef = variable.valueFrom?.configMapKeyRef;
      // Undefined (yet listed) when it names a key that is absent: an optional one may be.
      env[variable.name] = secretRef
        ? secrets.get(secretRef.name)?.[secretRef.key]
        : mapRef
          ? configMaps.get(mapRef.name)?.[mapRef.key]
          : variable.value;
    }
    return env;
  }

  it('renders with kubectl kustomize, the tool an operator runs (skipped loudly without kubectl)', () => {
    const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
    if (kubectl.error) {
      console.warn('SKIPPED: kubectl is not installed, so `kubectl kustomize deploy/k8s` was not checked');
      return;
    }
    const rendered = spawnSync('kubectl', ['kustomize', K8S_DIR], { encoding: 'utf8' });
    expect({ status: rendered.status, stderr: rendered.stderr }).toEqual({ status: 0, stderr: '' });
    expect(rendered.stdout).toContain('kind: Deployment');
  });

  it('lists every manifest file in kustomization.yaml', () => {
    expect([...readKustomization().resources].sort()).toEqual(manifestFiles());
  });

  it('is valid against the Kubernetes API schemas (kubernetes-models)', async () => {
    for (const manifest of manifests) {
      const models = (await import(modelsEntry(manifest.apiVersion))) as Record<string, new (data: unknown) => { validate(): void }>;
      const Model = models[manifest.kind];
      expect({ file: manifest.file, kind: manifest.kind, model: typeof Model }).toEqual({ file: manifest.file, kind: manifest.kind, model: 'function' });
      const { file: _file, ...data } = manifest;
      expect(() => new Model(data).validate()).not.toThrow();
    }
  });

  it('has no field the Kubernetes types do not know (a typo the API schema would let through)', () => {
    // The API's schemas allow unknown fields (the server drops or refuses them); the models' TypeScript types do not.
    const source = [
      ...new Set(manifests.map((manifest) => `import type { I${manifest.kind} as ${manifest.kind}${manifest.apiVersion.replace(/\W/g, '_')} } from '${modelsEntry(manifest.apiVersion)}';`)),
      ...manifests.map(({ file, ...data }, index) => `// ${file}\nexport const m${index}: ${data.kind}${data.apiVersion.replace(/\W/g, '_')} = ${JSON.stringify(data, null, 1)};`),
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
    host.getSourceFile = (name, version, ...rest) =>
      name === virtual ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === virtual || fileExists(name);
    const program = ts.createProgram([virtual], options, host);
    const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const where = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start) : undefined;
      const line = where ? source.split('\n').slice(0, where.line + 1).reverse().find((text) => text.startsWith('// ')) : '';
      return `${line ?? ''} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  });

  it('runs each module of src/modules as exactly one Deployment, plus a gateway hosting none', () => {
    expectMicroservices(storeDeployments.map((deployment) => processOf(`Deployment ${deployment.metadata.name}`, environment(storeContainer(deployment)))));
  });

  it('configures from a ConfigMap, takes SERVICE_TOKEN and DATABASE_URL from a Secret, only documented variables', () => {
    for (const deployment of storeDeployments) {
      const container = storeContainer(deployment);
      expectDocumentedVariables(processOf(`Deployment ${deployment.metadata.name}`, environment(container)));
      expect(container.envFrom?.some((source) => source.configMapRef)).toBe(true);
      for (const name of ['SERVICE_TOKEN', 'DATABASE_URL']) {
        const variable = container.env?.find((each) => each.name === name);
        expect({ name, secret: variable?.valueFrom?.secretKeyRef?.name, optional: variable?.valueFrom?.secretKeyRef?.optional ?? false }).toEqual({
          name,
          secret: expect.any(String),
          optional: false,
        });
      }
    }
    for (const [name, data] of configMaps) expect({ name, secrets: Object.keys(data).filter((key) => /TOKEN|DATABASE_URL|SECRET/.test(key)) }).toEqual({ name, secrets: [] });
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
      expect({ name, replicas: deployment.spec.replicas }).toEqual({ name, replicas: expect.any(Number) });
      expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
      const labels = deployment.spec.template.metadata.labels;
      expect({ name, budgets: budgets.filter((budget) => selects(budget.spec.selector.matchLabels, labels)).length }).toEqual({ name, budgets: 1 });
      expect({ name, services: services.filter((service) => selects(service.spec.selector, labels)).length }).toEqual({ name, services: 1 });
    }
  });

  it('runs NATS as a 3-node JetStream cluster with a route to every peer, behind a headless Service', () => {
    const sets = ofKind('StatefulSet') as Array<Manifest & { spec: { replicas: number; serviceName: string; template: { spec: { volumes?: Array<{ name: string; configMap?: { name: string } }> } } } }>;
    const nats = sets.find((set) => set.metadata.name === 'nats');
    expect(nats?.spec.replicas).toBe(3);
    const headless = ofKind('Service').find((service) => service.metadata.name === nats!.spec.serviceName) as Manifest & { spec: { clusterIP?: string } };
    expect(headless?.spec.clusterIP).toBe('None');
    const configName = nats!.spec.template.spec.volumes?.find((volume) => volume.configMap)?.configMap?.name;
    const config = Object.values(configMaps.get(configName!) ?? {}).join('\n');
    expect(config).toMatch(/jetstream\s*\{/);
    for (let peer = 0; peer < 3; peer++) expect(config).toContain(`nats://nats-${peer}.${nats!.spec.serviceName}:6222`);
    expect(ofKind('PodDisruptionBudget').some((budget) => budget.metadata.name === 'nats')).toBe(true);
    // The store's NATS_URL names the client Service.
    const natsUrls = storeDeployments.map((deployment) => environment(storeContainer(deployment)).NATS_URL);
    for (const url of natsUrls) expect(ofKind('Service').map((service) => `nats://${service.metadata.name}:4222`)).toContain(url);
  });
});

describe('deployment files', () => {
  it('exist where the README says', () => {
    expect(existsSync(COMPOSE_FILE)).toBe(true);
    expect(existsSync(join(K8S_DIR, 'kustomization.yaml'))).toBe(true);
  });
});
