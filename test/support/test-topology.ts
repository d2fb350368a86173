import { randomBytes } from 'node:crypto';
import { deleteEventStream } from '../../tools/support/event-streams.js';
import { planTopology, type ProcessPlan, TOPOLOGY_NAMES } from '../../tools/topology/topologies.js';
import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { eventually } from './eventually.js';
import { NATS_URL } from './nats.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import { http, startTestStore, type TestStore } from './test-store.js';

export type TopologyName = (typeof TOPOLOGY_NAMES)[number];

export interface TestTopology {
  readonly name: string;
  /** The gateway's base URL: where clients send the whole API. */
  readonly url: string;
  readonly database: TestDatabase;
  /** Every process of the topology, by plan name ("inventory", "gateway", ...). */
  readonly processes: ReadonlyMap<string, TestStore>;
  close(): Promise<void>;
}

/**
 * The topologies a suite runs in: the one in TOPOLOGY, or all three. Remote ones need
 * NATS: define the suite with describeEachTopology (needs-nats.ts), which skips and
 * reports them without it.
 */
export async function topologiesUnderTest(): Promise<TopologyName[]> {
  return process.env.TOPOLOGY ? [process.env.TOPOLOGY as TopologyName] : [...TOPOLOGY_NAMES];
}

/**
 * Starts every process of a topology in this test process (each a full store
 * application, talking to the others over the real NATS server), on one fresh
 * database, and waits until the gateway reports every module up. `env` goes to
 * every process; `processEnv` adds variables to some (a secret only the process
 * hosting its module gets), given each process's plan.
 */
export async function startTopology(
  name: string,
  env: Record<string, string> = {},
  processEnv: (plan: ProcessPlan) => Record<string, string> = () => ({}),
): Promise<TestTopology> {
  const database = await createTestDatabase();
  const modules = (await discoverModules()).map((module) => module.definition.name);
  const shared = {
    NATS_URL,
    // A namespace of its own, so suites running side by side on one NATS never answer each other.
    NATS_SUBJECT_PREFIX: `t${randomBytes(4).toString('hex')}`,
    SERVICE_TOKEN: randomBytes(16).toString('hex'),
    ...env,
  };
  const processes = new Map<string, TestStore>();
  const close = async () => {
    for (const store of [...processes.values()].reverse()) await store.close().catch(() => {});
    await database.drop();
    if (name !== 'monolith') await deleteEventStream(NATS_URL, shared.NATS_SUBJECT_PREFIX).catch(() => {});
  };
  try {
    for (const plan of planTopology(name, modules)) {
      processes.set(plan.name, await startTestStore({ ...shared, ...processEnv(plan), ...plan.env }, { database }));
    }
    const gateway = [...processes.values()].find((store) => store.config.gateway)!;
    await eventually(
      async () => {
        const health = await http(gateway, 'GET', '/health');
        if (health.status !== 200) throw new Error(`gateway not healthy yet: ${JSON.stringify(health.body)}`);
      },
      15_000,
      50,
    );
    return { name, url: gateway.url, database, processes, close };
  } catch (error) {
    await close();
    throw error;
  }
}
