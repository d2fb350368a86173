import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputShapes } from './contract-inputs.js';
import type { Contracts, EventContract, ModuleContract, OperationContract } from './contract-model.js';
import { outputShapes } from './contract-outputs.js';
import { importSource, provideCompiled } from './source-loader.js';
import type { Workspace } from './workspace.js';

export interface Extracted {
  readonly contracts: Contracts;
  /** Modules whose public face could not be loaded, with why: not compared, not recorded. */
  readonly unreadable: ReadonlyArray<{ module: string; file: string; reason: string }>;
  /** Where each operation (`<module>.<op>`) and event (`<module>/<event name>`) is declared. */
  readonly locations: ReadonlyMap<string, { file: string; line: number }>;
}

interface SpecLike {
  kind: 'command' | 'query';
  idempotent: boolean;
  input: Function;
}

interface EventApi {
  isIntegrationEventType(type: unknown): boolean;
  eventOptions(type: Function): { name: string; version: number };
}

const EVENTS_FILE = 'src/platform/contracts/integration-event.ts';

/**
 * Every module's contract as its public face (index.ts) exports it: the
 * contract object (operations, their input classes), the @IntegrationEvent
 * classes, and, from the type checker, each operation's declared result.
 */
export async function extractContracts(workspace: Workspace): Promise<Extracted> {
  const root = workspace.root;
  const faces = new Map(workspace.modules.filter((m) => existsSync(join(root, m.dir, 'index.ts'))).map((m) => [m.name, `${m.dir}/index.ts`]));
  const { outputs, locations, emitted } = outputShapes(root, faces);
  provideCompiled(emitted);
  // The tree's own event decorator: its marker is a module-local symbol, so only its own functions read it.
  const events = (existsSync(join(root, EVENTS_FILE)) ? await importSource(root, EVENTS_FILE) : {}) as Partial<EventApi>;
  const inputs = new InputShapes(root);
  const contracts: Record<string, ModuleContract> = {};
  const unreadable: Array<{ module: string; file: string; reason: string }> = [];
  for (const [module, file] of faces) {
    try {
      const exports = await importSource(root, file);
      const contract = Object.values(exports).find(
        (value): value is { module: string; operations: Record<string, SpecLike> } =>
          typeof value === 'object' &&
          value !== null &&
          (value as { module?: unknown }).module === module &&
          typeof (value as { operations?: unknown }).operations === 'object',
      );
      if (!contract) throw new Error(`it exports no contract of '${module}' (defineContract('${module}', ...))`);
      const operations: Record<string, OperationContract> = {};
      for (const [name, spec] of Object.entries(contract.operations)) {
        operations[name] = {
          kind: spec.kind,
          idempotent: spec.idempotent,
          input: inputs.of(spec.input),
          output: outputs.get(module)?.get(name) ?? { type: 'unknown' },
        };
      }
      const published: Record<string, EventContract> = {};
      for (const [exportName, value] of Object.entries(exports)) {
        if (typeof value !== 'function' || !events.isIntegrationEventType?.(value)) continue;
        const { name, version } = events.eventOptions!(value);
        // Two classes of one event (v1 kept beside v2): the latest is the contract.
        if ((published[name]?.version ?? 0) >= version) continue;
        published[name] = { version, payload: inputs.of(value) };
        const at = locations.get(`${module}/${exportName}`);
        if (at) locations.set(`${module}/${name}`, at);
      }
      contracts[module] = { operations, events: published };
    } catch (error) {
      unreadable.push({ module, file, reason: (error as Error).message.split('\n')[0] });
    }
  }
  return { contracts, unreadable, locations };
}
