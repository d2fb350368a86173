import { deleteEventStream } from '../../tools/support/event-streams.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import type { ContractClient } from '../../src/platform/contracts/contract.js';
import { ModuleError } from '../../src/platform/contracts/module.error.js';
import type { DiscoveredModule } from '../../src/platform/modules/module-definition.js';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { NATS_URL } from '../support/nats.js';
import { itWithNats } from '../support/needs-nats.js';
import { http, startTestStore, type TestStore } from '../support/test-store.js';

/**
 * Each module boots without the rest of the store — the equivalent of Spring
 * Modulith's STANDALONE and DIRECT_DEPENDENCIES bootstrap modes: with the
 * modules its module.json says it calls, and alone. (A module it only listens
 * to need not run: its events wait in that module's outbox.) Nothing else may be needed to
 * start; what is not hosted answers 503 rather than break start-up.
 */

/** Module names from the folder layout, as discovery finds them (the definitions load in beforeAll). */
const NAMES = readdirSync(fileURLToPath(new URL('../../src/modules/', import.meta.url)), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

let modules: DiscoveredModule[];

beforeAll(async () => {
  modules = await discoverModules();
  expect(modules.map((m) => m.definition.name)).toEqual(NAMES);
});

const module = (name: string) => modules.find((m) => m.definition.name === name)!;

/** The modules a module declares it depends on, read at definition time (the tests that need NATS are known then). */
const declared = (name: string): string[] =>
  Object.keys(JSON.parse(readFileSync(fileURLToPath(new URL(`../../src/modules/${name}/module.json`, import.meta.url)), 'utf8')).dependsOn ?? {});

/** Starts a store hosting `hosted` (fewer than all modules: it reaches the others through NATS). */
async function boot(hosted: readonly string[], gateway: 'on' | 'off'): Promise<TestStore> {
  // A namespace of its own: nothing else on this NATS may answer for the modules it does not host.
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const store = await startTestStore({
    MODULES: hosted.join(','),
    GATEWAY: gateway,
    NATS_URL,
    NATS_SUBJECT_PREFIX: prefix,
    SERVICE_TOKEN: randomBytes(16).toString('hex'),
    REMOTE_CALL_TIMEOUT_MS: '500',
    // The remote clients warn of every call nobody answers: here that is the point, not news.
    LOG_LEVEL: 'error',
  });
  // Its event stream goes with it: nothing left on the shared NATS.
  return {
    ...store,
    close: async () => {
      await store.close();
      await deleteEventStream(NATS_URL, prefix).catch(() => {});
    },
  };
}

/** /health: every hosted module local and up, every other one remote and down. */
async function expectHealth(store: TestStore, hosted: readonly string[], expectedStatus: number): Promise<void> {
  const health = await http(store, 'GET', '/health');
  expect(health.body.modules).toEqual(
    Object.fromEntries(NAMES.map((name) => [name, hosted.includes(name) ? { location: 'local', status: 'up' } : { location: 'remote', status: 'down' }])),
  );
  expect(health.status).toBe(expectedStatus);
}

function clientOf(store: TestStore, name: string): ContractClient<any> {
  return store.application.app.get(module(name).definition.contract.client, { strict: false });
}

/** A hosted module answers its contract itself: whatever it says to an empty query, it is not "unavailable". */
async function expectAnswersLocally(store: TestStore, name: string): Promise<void> {
  const [operation] = Object.entries(module(name).definition.contract.operations).find(([, spec]) => spec.kind === 'query') ?? [];
  if (!operation) return;
  const outcome = await clientOf(store, name)
    [operation]({})
    .then(
      () => 'answered',
      (error: unknown) => (error instanceof ModuleError ? error.code : String(error)),
    );
  expect({ module: name, operation, outcome }).not.toEqual({ module: name, operation, outcome: 'UNAVAILABLE' });
}

/** A module not hosted: every operation of its client, and its GET routes at the gateway, answer UNAVAILABLE / 503. */
async function expectUnavailable(store: TestStore, name: string): Promise<void> {
  const client = clientOf(store, name);
  for (const operation of Object.keys(module(name).definition.contract.operations)) {
    await expect(client[operation]({})).rejects.toMatchObject({ code: 'UNAVAILABLE', module: name });
  }
  for (const path of getRoutes(module(name).definition.http)) {
    const response = await http(store, 'GET', path);
    expect({ path, status: response.status }).toEqual({ path, status: 503 });
  }
}

/** GET routes with path parameters of a module's HTTP module (read from Nest's route metadata), filled with a UUID. */
function getRoutes(httpModule: Type<unknown> | undefined): string[] {
  if (!httpModule) return [];
  const controllers: Type<unknown>[] = Reflect.getMetadata('controllers', httpModule) ?? [];
  return controllers.flatMap((controller) => {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    return Object.getOwnPropertyNames(prototype)
      .map((key) => prototype[key])
      .filter((handler): handler is Function => typeof handler === 'function')
      .filter((handler) => Reflect.getMetadata(METHOD_METADATA, handler) === RequestMethod.GET)
      .map((handler) => String(Reflect.getMetadata(PATH_METADATA, handler) ?? ''))
      .filter((path) => path.includes(':'))
      .map((path) => `/${[base, path].join('/')}`.replace(/\/+/g, '/').replace(/:[A-Za-z_]+/g, randomUUID()));
  });
}

describe.each(NAMES)('module %s, booted without the rest of the store', (name) => {
  const stores: TestStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  // Hosting fewer than all modules, a process reaches the others through NATS.
  itWithNats(
    'starts with the modules it calls (MODULES=<it + calls>), each local and up',
    async () => {
      const hosted = [name, ...module(name).manifest.calls];
      const store = await boot(hosted, 'on');
      stores.push(store);
      // A gateway serves every module's routes, so it reports degraded while any is missing.
      await expectHealth(store, hosted, hosted.length === NAMES.length ? 200 : 503);
      for (const local of hosted) await expectAnswersLocally(store, local);

      // Headless, it needs nothing but what it hosts: healthy.
      const headless = await boot(hosted, 'off');
      stores.push(headless);
      await expectHealth(headless, hosted, 200);
    },
    undefined,
    1 + declared(name).length < NAMES.length,
  );

  itWithNats(
    'starts alone (MODULES=<it>); every module it does not host answers 503',
    async () => {
      const store = await boot([name], 'on');
      stores.push(store);
      await expectHealth(store, [name], NAMES.length === 1 ? 200 : 503);
      await expectAnswersLocally(store, name);
      for (const other of NAMES.filter((n) => n !== name)) await expectUnavailable(store, other);
    },
    undefined,
    NAMES.length > 1,
  );
});
