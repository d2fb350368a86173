import { discoverModules } from '../../src/platform/modules/module-discovery.js';
import { ExploreEnvironment } from '../../tools/explore/explore-environment.js';
import { describeFailure } from '../../tools/explore/explore-report.js';
import { runSchedule, scheduleFor, type ExploreSettings } from '../../tools/explore/explore-run.js';
import { FAULT_KINDS, formatSchedule } from '../../tools/explore/explore-schedule.js';
import { PrivateNatsServer } from '../../tools/support/nats-server.js';

/**
 * The fault-schedule explorer (npm run explore) in CI: a fixed seed on each
 * topology, short loads, failing with the seed and the violation; that a seed
 * gives one schedule; and that the explorer can fail (a planted violation is
 * reported).
 */
let modules: string[];

beforeAll(async () => {
  modules = (await discoverModules()).map((module) => module.definition.name);
});

describe('schedule generation', () => {
  it('gives the same schedule for the same seed, and another for another seed', () => {
    const settings = { modules, loadMs: 20_000 };
    for (const topology of ['monolith', 'inventory-extracted', 'microservices', 'inventory-extracted-replicas']) {
      const once = scheduleFor(42, topology, settings);
      expect(scheduleFor(42, topology, settings)).toEqual(once);
      expect(formatSchedule(scheduleFor(42, topology, settings))).toBe(formatSchedule(once));
      expect(scheduleFor(43, topology, settings)).not.toEqual(once);
      for (const fault of once.faults) {
        expect(fault.atMs).toBeGreaterThanOrEqual(0);
        expect(fault.atMs).toBeLessThan(settings.loadMs);
        if (['sigkill', 'sigstop', 'deadline-outage'].includes(fault.kind)) expect(once.processes).toContain(fault.target);
      }
    }
  });

  it('draws every kind of fault over some seeds, and none that needs NATS in a monolith', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      for (const fault of scheduleFor(seed, 'microservices', { modules, loadMs: 20_000 }).faults) seen.add(fault.kind);
      for (const fault of scheduleFor(seed, 'monolith', { modules, loadMs: 20_000 }).faults) {
        expect(['nats-restart', 'link-slow', 'link-partition']).not.toContain(fault.kind);
      }
    }
    expect([...seen].sort()).toEqual([...FAULT_KINDS].sort());
  });
});

const natsServer = PrivateNatsServer.findBinary();
const describeWithNatsServer = natsServer ? describe : describe.skip;

describeWithNatsServer('fault schedules against the running store', () => {
  let environment: ExploreEnvironment;
  const lines: string[] = [];
  const settings = (): ExploreSettings => ({ modules, loadMs: 15_000, quietTimeoutMs: 60_000, log: (text) => lines.push(text) });

  beforeAll(async () => {
    environment = await ExploreEnvironment.start();
  }, 120_000);

  afterAll(async () => {
    await environment?.stop();
  });

  // One seed per topology: CI replays exactly these schedules (the seed is in the failure).
  it.each([
    [7, 'monolith'],
    [11, 'inventory-extracted'],
    [3, 'microservices'],
    [5, 'inventory-extracted-replicas'],
  ])(
    'seed %i on %s: every invariant holds',
    async (seed, topology) => {
      const result = await runSchedule(scheduleFor(seed, topology, settings()), environment, settings());
      if (!result.ok) throw new Error(`${describeFailure(result)}\n--- explorer log ---\n${lines.join('\n')}`);
      expect(result.checks.length).toBeGreaterThan(10);
    },
    240_000,
  );

  it('reports a violation planted mid-run (the explorer can fail)', async () => {
    const planted = { ...settings(), plant: true };
    const schedule = scheduleFor(7, 'monolith', planted);
    expect(schedule.faults.map((f) => f.kind)).toContain('planted');
    const result = await runSchedule(schedule, environment, planted);
    expect(result.ok).toBe(false);
    const violated = result.checks.filter((c) => c.violations.length > 0).map((c) => c.name);
    expect(violated).toContain('a CANCELLED order has a CAPTURED payment');
    expect(describeFailure(result)).toContain('--seed 7 --topology monolith');
  }, 240_000);
});
