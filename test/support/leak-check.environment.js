import { writeSync } from 'node:fs';
import { relative } from 'node:path';
import { TestEnvironment } from 'jest-environment-node';

/**
 * The e2e tier's test environment: jest's own node environment, plus a check after each test file
 * that it closed what it opened. A handle left open (a socket, a server, a child process, a timer
 * not unref'd) keeps its jest worker alive after the run, and jest then ends with "A worker process
 * has failed to exit gracefully": this names the file instead, with what it left.
 * Node's own count of the handles keeping the loop alive (getActiveResourcesInfo), before and after.
 * It also counts the file's failed tests for its hooks (test/support/failed-tests.ts): a suite
 * prints its processes' logs only when something failed.
 */
export default class LeakCheckEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.rootDir = config.projectConfig.rootDir;
    this.testPath = context.testPath;
  }

  handleTestEvent(event) {
    if (event.name === 'test_done' && event.test.errors.length > 0) this.global.__failedTests = (this.global.__failedTests ?? 0) + 1;
  }

  async setup() {
    await super.setup();
    this.before = tally(process.getActiveResourcesInfo());
    this.handlesBefore = new Set(process._getActiveHandles?.() ?? []);
    worker.files.push(relative(this.rootDir, this.testPath));
  }

  async teardown() {
    // Closing may take a moment to be final (a socket's close event): up to 2 s of grace.
    let left = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      left = leftOpen(this.before, tally(process.getActiveResourcesInfo()));
      if (left.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (left.length > 0) {
      process.stderr.write(`\n!!! ${relative(this.rootDir, this.testPath)} left open after its tests: ${left.join(', ')}\n`);
    }
    // Whatever this file opened and still holds (even within the counts above): named by file if jest must kill the worker.
    for (const handle of process._getActiveHandles?.() ?? []) {
      if (!this.handlesBefore.has(handle) && !worker.openedBy.has(handle)) worker.openedBy.set(handle, relative(this.rootDir, this.testPath));
    }
    await super.teardown();
  }
}

/**
 * Once per worker process: jest asks a worker to end and, 500 ms later, sends it SIGTERM if something still keeps
 * it alive ("A worker process has failed to exit gracefully", naming nothing). Something the per-file check above did
 * not see (opened after a file's teardown, or closed only later): this says what it is, and which file opened it.
 */
const worker =
  globalThis[Symbol.for('monolith-first.leak-check')] ?? (globalThis[Symbol.for('monolith-first.leak-check')] = { files: [], openedBy: new WeakMap() });
if (!worker.listening) {
  worker.listening = true;
  process.once('SIGTERM', () => {
    const handles = (process._getActiveHandles?.() ?? []).filter((handle) => ![0, 1, 2].includes(handle?._handle?.fd));
    const lines = handles.map(
      (handle) => `  ${describeHandle(handle)} (opened by ${worker.openedBy.get(handle) ?? 'a file after its teardown, or the worker'})`,
    );
    const resources = process.getActiveResourcesInfo().filter((name) => name !== 'TTYWrap' && name !== 'PipeWrap');
    // Straight to the descriptor: whatever state process.stderr is in by now.
    writeSync(
      2,
      `\n!!! a jest worker kept alive after its last file, by: ${resources.join(', ') || 'nothing node names'}\n${lines.join('\n')}\n` +
        `    the files it ran, the last one last: ${worker.files.slice(-5).join(', ')}\n`,
    );
    process.exit(143);
  });
  // Nothing keeps the worker any more (jest has let go of it): leave now. A natural exit tears down every test
  // file's module registry and context first, which after a full run's share of files took longer than the
  // 500 ms jest waits before it kills a worker ("failed to exit gracefully", with nothing left open to name).
  process.once('beforeExit', () => process.exit(process.exitCode ?? 0));
}

function describeHandle(handle) {
  const kind = handle?.constructor?.name ?? typeof handle;
  if (handle?.spawnargs) return `${kind} ${handle.spawnargs.join(' ').slice(0, 160)} (pid ${handle.pid})`;
  if (typeof handle?.remotePort === 'number') return `${kind} to ${handle.remoteAddress}:${handle.remotePort}`;
  if (typeof handle?.address === 'function') {
    try {
      const address = handle.address();
      if (address) return `${kind} on ${typeof address === 'string' ? address : `${address.address}:${address.port}`}`;
    } catch {
      // not bound
    }
  }
  return kind;
}

/** The handles keeping the loop alive, by type, less the process's own stdin, stdout and stderr. */
function tally(resources) {
  const counts = new Map();
  for (const resource of resources) counts.set(resource, (counts.get(resource) ?? 0) + 1);
  // Node makes those on first use: in a jest worker they are pipes to jest, and jest's ESM loader
  // makes stdin whenever a module imports 'process' (@opentelemetry/resources does). Not a leak.
  for (const handle of process._getActiveHandles?.() ?? []) {
    const fd = handle?._handle?.fd;
    if (fd !== 0 && fd !== 1 && fd !== 2) continue;
    const type = handle._handle.constructor?.name === 'TTY' ? 'TTYWrap' : 'PipeWrap';
    if ((counts.get(type) ?? 0) > 0) counts.set(type, counts.get(type) - 1);
  }
  return counts;
}

function leftOpen(before, after) {
  const left = [];
  for (const [resource, count] of after) {
    const more = count - (before.get(resource) ?? 0);
    if (more > 0) left.push(`${resource} x${more}`);
  }
  return left;
}
