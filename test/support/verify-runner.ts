import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./verify-runner.child.mjs', import.meta.url));

export interface VerifyRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `npm run verify` (the built verify-command.js, exactly what the CLI runs) on many trees from
 * one child process: loading TypeScript and dependency-cruiser once per suite instead of once per
 * run was most of verify.spec.ts's time. The CLI's own arguments and exit codes are tested by
 * spawning it (verify.spec.ts "usage", cli.spec.ts).
 */
export class VerifyRunner {
  private readonly waiting = new Map<number, (run: VerifyRun) => void>();
  private next = 0;
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { id?: number } & VerifyRun) => {
      if (message.id === undefined) return;
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
    child.once('exit', (code, signal) => {
      this.exited = true;
      for (const answer of this.waiting.values()) answer({ status: null, stdout: '', stderr: `the verify runner exited (${code ?? signal})` });
      this.waiting.clear();
    });
  }

  /** Starts the child; `command` is the built verify-command.js. */
  static async start(command: string): Promise<VerifyRunner> {
    const child = fork(CHILD, [command], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`the verify runner exited (code ${code}) before it was ready`)));
    });
    return new VerifyRunner(child);
  }

  run(argv: readonly string[]): Promise<VerifyRun> {
    if (this.exited) return Promise.resolve({ status: null, stdout: '', stderr: 'the verify runner has exited' });
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send({ id, argv });
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill();
    await exited;
  }
}
