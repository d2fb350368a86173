import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Children still running when the bench exits early get SIGTERM, never SIGKILL:
 * a store stops the Postgres it started only when it is allowed to stop.
 */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGTERM');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

export function start(command: string, args: readonly string[], env: NodeJS.ProcessEnv): RunningProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, exited, output: () => output };
}

/** Resolves with the HTTP port once the store logs "serving on port N". */
export function servingPort(store: RunningProcess, timeoutMs = 120_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no "serving on port" line within ${timeoutMs} ms\n${store.output()}`)), timeoutMs);
    const check = () => {
      const match = /serving on port (\d+)/.exec(store.output());
      if (match) done(undefined, Number(match[1]));
    };
    const done = (error?: Error, port?: number) => {
      clearTimeout(timer);
      store.child.stdout!.off('data', check);
      if (error) reject(error);
      else resolve(port!);
    };
    store.child.stdout!.on('data', check);
    // `exited` never rejects (it resolves with the exit code); the catch passes on what it does not foresee.
    store.exited.then((code) => done(new Error(`the store exited (code ${code}) before serving\n${store.output()}`))).catch(done);
    check();
  });
}

/** Polls GET /health until it answers 200. */
export async function healthy(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`/health not 200 within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends SIGTERM and waits; a store that does not stop is a failed run. */
export async function stop(store: RunningProcess): Promise<void> {
  store.child.kill('SIGTERM');
  const code = await store.exited;
  if (code !== 0) throw new Error(`the store exited with code ${code} after SIGTERM\n${store.output()}`);
}

export { freePort } from '../../tools/support/free-port.js';

/** A temporary directory that a root-run store's `postgres` user can enter (mkdtemp makes it 700). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}
