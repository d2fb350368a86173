import type { ChildProcess } from 'node:child_process';
import { TopologyProcesses, type TopologyOptions } from '../topology/topology-processes.js';

/** A process that exited without the schedule asking: a failure, whatever else holds. */
export interface UnexpectedExit {
  readonly process: string;
  readonly atMs: number;
  readonly exit: string;
  /** Its last output lines before it went. */
  readonly lastLines: readonly string[];
}

const KEEP_LINES = 40;

/**
 * The topology's processes under the schedule's hands: SIGKILL and restart,
 * SIGSTOP and SIGCONT. It watches every child: an exit the schedule did not
 * cause is recorded with the process's last lines, and the process is started
 * again so that the run can go on (and find more).
 */
export class ExploreProcesses {
  readonly unexpected: UnexpectedExit[] = [];
  private readonly lines = new Map<string, string[]>();
  private readonly expected = new Set<ChildProcess>();
  private readonly paused = new Set<string>();
  private readonly restarts = new Set<Promise<void>>();
  private topology!: TopologyProcesses;
  private stopping = false;
  private readonly started = performance.now();

  private constructor(private readonly onLine: (process: string, line: string) => void) {}

  static async start(options: Omit<TopologyOptions, 'onLine'>, onLine: (process: string, line: string) => void): Promise<ExploreProcesses> {
    const processes = new ExploreProcesses(onLine);
    processes.topology = await TopologyProcesses.start({ ...options, onLine: (name, line) => processes.record(name, line) });
    for (const name of processes.names) processes.watch(name);
    return processes;
  }

  get names(): string[] {
    return [...this.topology.processes.keys()];
  }

  get gatewayUrls(): string[] {
    return this.topology.gatewayUrls;
  }

  /** Every line a process wrote about a dead letter (kept whole: a dead letter must be reported). */
  readonly deadLetterLines: string[] = [];

  /** The processes not running now (exited; a paused one counts as running). */
  notRunning(): string[] {
    return this.names.filter((name) => {
      const child = this.topology.processes.get(name)?.child;
      return !child || child.exitCode !== null || child.signalCode !== null;
    });
  }

  async kill(name: string): Promise<void> {
    const child = this.topology.processes.get(name)?.child;
    if (child) this.expected.add(child);
    this.paused.delete(name);
    await this.topology.stopProcess(name, 'SIGKILL');
  }

  /** Starts a killed process again; resolves when it answers /health (or gives up after a minute, recorded). */
  async restart(name: string): Promise<void> {
    try {
      await this.topology.startProcess(name);
    } catch (error) {
      this.record(name, `[explorer] restart failed: ${(error as Error).message}`);
    }
    this.watch(name);
  }

  pause(name: string): void {
    const child = this.topology.processes.get(name)?.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGSTOP');
    this.paused.add(name);
  }

  resume(name: string): void {
    const child = this.topology.processes.get(name)?.child;
    this.paused.delete(name);
    if (child && child.exitCode === null) child.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const name of [...this.paused]) this.resume(name);
    await Promise.allSettled([...this.restarts]);
    await this.topology.stop();
  }

  private record(name: string, line: string): void {
    if (/dead.letter/i.test(line)) this.deadLetterLines.push(`${name}| ${line}`);
    const kept = this.lines.get(name) ?? [];
    kept.push(line);
    if (kept.length > 4 * KEEP_LINES) kept.splice(0, kept.length - KEEP_LINES);
    this.lines.set(name, kept);
    this.onLine(name, line);
  }

  private watch(name: string): void {
    const child = this.topology.processes.get(name)?.child;
    if (!child) return;
    child.once('exit', (code, signal) => {
      if (this.stopping || this.expected.has(child)) return;
      // Its output may still be in the pipes: give the readers a moment before taking the last lines.
      setTimeout(() => {
        this.unexpected.push({
          process: name,
          atMs: Math.round(performance.now() - this.started),
          exit: signal ? `signal ${signal}` : `code ${code}`,
          lastLines: (this.lines.get(name) ?? []).slice(-KEEP_LINES),
        });
        if (this.stopping) return;
        const restart = this.restart(name).finally(() => this.restarts.delete(restart));
        this.restarts.add(restart);
      }, 200);
    });
  }
}
