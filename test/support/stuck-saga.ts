import { defineSaga } from '../../src/platform/sagas/saga-definition.js';
import { SagaRunner } from '../../src/platform/sagas/saga-runner.js';
import { Metrics } from '../../src/platform/observability/metrics.js';
import { ModuleError } from '../../src/platform/contracts/module.error.js';
import type { TestStore } from './test-store.js';
import { eventually } from './eventually.js';

export interface StuckSagas {
  readonly saga: string;
  /** Starts a saga of this key; its one step fails until `heal()`, so it ends STUCK (resolves once it is). */
  park(key: string): Promise<void>;
  /** From now on the step succeeds: a retry completes the saga. */
  heal(): void;
  /** The saga's row as the database has it. */
  row(key: string): Promise<{ status: string; step: string; attempts: number; last_error: string | null }>;
  stop(): Promise<void>;
}

/**
 * A real saga in a module's schema, run by a real runner in the store's
 * process, whose step keeps failing (a payment provider down, say) until the
 * test heals it: after two attempts it is parked STUCK for an operator, as
 * any saga of the store would be.
 */
export async function stuckSagas(store: TestStore, module: string, saga = 'console-demo'): Promise<StuckSagas> {
  const db = store.application.databases.get(module);
  let healthy = false;
  const definition = defineSaga<{ key: string }>({
    name: saga,
    version: 1,
    stepTimeoutMs: 2_000,
    retry: { initialDelayMs: 10, maxDelayMs: 50 },
    stuckAfterAttempts: 2,
    load: async (keys) => new Map(keys.map((key) => [key, { key }])),
    steps: [
      {
        name: 'CHARGE_CARD',
        run: async () => {
          if (!healthy) throw new ModuleError('UNAVAILABLE', 'payment provider did not answer (test: down until healed)', 'payments');
        },
      },
    ],
  });
  const metrics = store.application.app.get(Metrics, { strict: false });
  const runner = new SagaRunner(
    definition,
    { leaseMs: 10_000, concurrency: 16, pollIntervalMs: 100 },
    db,
    store.application.messaging.transactionsFor(module),
    metrics,
  );
  await runner.onApplicationBootstrap();
  const row = async (key: string) => {
    const [found] = await db.query(`SELECT status, step, attempts, last_error FROM "${module}".sagas WHERE saga = $1 AND key = $2`, [saga, key]);
    return found;
  };
  return {
    saga,
    async park(key) {
      await db.query(
        `WITH ${runner.store.startSql({ key: '$1::text', deadlineMs: 'NULL::int', traceContext: `'{}'::jsonb`, leaseMs: 'NULL::int' })} SELECT 1`,
        [key],
      );
      runner.wake();
      await eventually(async () => expect((await row(key))?.status).toBe('STUCK'), 30_000, 50);
    },
    heal() {
      healthy = true;
    },
    row,
    stop: () => runner.beforeApplicationShutdown(),
  };
}
