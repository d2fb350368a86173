import { NATS_URL, natsReachable } from './nats.js';
// @ts-expect-error: plain JavaScript shared with the global setup and the reporter
import { recordSkip } from './skipped-suites.js';

/**
 * The one way a test says it needs NATS. With NATS, the block runs. Without it, the block is
 * skipped and recorded, so the run ends with a summary of what did not run
 * (skipped-suites.reporter.js); under CI=true it fails instead: CI runs every test.
 */
export const NATS_AVAILABLE = await natsReachable();

const REASON = `NATS is not reachable at ${NATS_URL}: start one with JetStream (\`nats-server -js\`) or set NATS_URL`;

/** `describe(title, fn)` when NATS is there (or `needed` is false); otherwise skipped and recorded, or failed on CI. */
export function describeWithNats(title: string, fn: () => void, needed = true): void {
  if (!needed || NATS_AVAILABLE) {
    describe(title, fn);
  } else if (process.env.CI === 'true') {
    describe(title, () => {
      beforeAll(() => {
        throw new Error(`${REASON} (CI=true: every test must run)`);
      });
      fn();
    });
  } else {
    recordSkip(expect.getState().testPath, title, REASON);
    describe.skip(title, fn);
  }
}

/** `it` for one test that needs NATS, under the same rules. */
export function itWithNats(title: string, fn: () => Promise<unknown>, timeout?: number, needed = true): void {
  if (!needed || NATS_AVAILABLE) {
    it(title, fn, timeout);
  } else if (process.env.CI === 'true') {
    it(title, () => {
      throw new Error(`${REASON} (CI=true: every test must run)`);
    });
  } else {
    recordSkip(expect.getState().testPath, title, REASON);
    it.skip(title, fn, timeout);
  }
}

/** `describe.each(topologies)(title, fn)`: the ones other than the monolith need NATS. */
export function describeEachTopology<T extends string>(topologies: readonly T[], title: string, fn: (topology: T) => void): void {
  for (const topology of topologies) {
    describeWithNats(title.replace('%s', topology), () => fn(topology), topology !== 'monolith');
  }
}
