import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ModuleError } from '../contracts/module.error.js';
import { Metrics } from '../observability/metrics.js';
import { SagaAdmission } from './saga-admission.js';
import type { SagaRunner } from './saga-runner.js';

/**
 * The admission's second guard (queued sagas waiting too long to start) across a database
 * outage, on a simulated clock: the store's samples are scripted, as the database would
 * answer them before, during (failing) and after a restart.
 */
describe('SagaAdmission across a database outage', () => {
  let answer: () => Promise<{ inFlight: number; waitedMs: number }>;
  let admission: SagaAdmission;

  beforeEach(() => {
    jest.useFakeTimers();
    const runner = {
      definition: { name: 'checkout' },
      store: { module: 'orders', admissionSample: () => answer() },
      onEnded: () => {},
    } as unknown as SagaRunner<unknown>;
    admission = new SagaAdmission(
      runner,
      { targetMs: 1_000, minInFlight: 64, maxWaitMs: 10_000, sampleMs: 100, refusedMetric: 'refused_total', waitMetric: 'wait_seconds', what: 'checkout' },
      new Metrics({ defaultMetrics: false }),
    );
    answer = async () => ({ inFlight: 5, waitedMs: 0 });
    admission.onApplicationBootstrap();
  });

  afterEach(() => {
    admission.onApplicationShutdown();
    jest.useRealTimers();
  });

  const admits = () => {
    try {
      admission.admit().settle();
      return 'admitted';
    } catch (error) {
      return (error as ModuleError).message;
    }
  };

  it('does not count the outage as queueing: the first checkout after it is admitted', async () => {
    await jest.advanceTimersByTimeAsync(500);
    expect(admits()).toBe('admitted');
    // 12 s without a database: every sample fails.
    answer = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    await jest.advanceTimersByTimeAsync(12_000);
    // Back: the sagas that fell due during the outage have been due for 12 s, none taken yet.
    let back = 0;
    answer = async () => ({ inFlight: 18, waitedMs: 12_000 + back });
    await jest.advanceTimersByTimeAsync(100);
    expect(admits()).toBe('admitted');
    // They still wait while the database is there: that is queueing, and past the bound it refuses.
    for (let elapsed = 0; elapsed < 10_500; elapsed += 100) {
      back += 100;
      await jest.advanceTimersByTimeAsync(100);
    }
    expect(admits()).toMatch(/^checkout is at capacity: queued orders wait \d+\.\d s to start/);
  });

  it('refuses at once when sagas wait too long with the database there all along', async () => {
    answer = async () => ({ inFlight: 18, waitedMs: 10_500 });
    await jest.advanceTimersByTimeAsync(200);
    expect(admits()).toMatch(/^checkout is at capacity: queued orders wait 10\.5 s to start/);
  });
});
