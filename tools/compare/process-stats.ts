import { allPids, commandOf, cpuMs, machineCpuMs, parentOf, rssMiB } from '../support/proc.js';

/**
 * CPU and memory of each process of a topology while a load runs, sampled
 * from /proc (Linux): /proc/<pid>/stat (utime + stime) and /proc/<pid>/status
 * (VmRSS), every `intervalMs`. The pid is looked up at each sample, so a
 * process restarted meanwhile keeps counting under its name. Also sampled:
 * this process (the load generator), the database server (its postmaster and
 * every child of it, when known; else every `postgres` process on the
 * machine; CPU only: their RSS counts shared buffers once per backend), and
 * the whole machine's busy time, to tell how much went to other workloads.
 * Without /proc it answers nothing rather than failing the run.
 */

export interface ProcessTarget {
  readonly name: string;
  readonly pid: () => number | undefined;
}

export interface ProcessStats {
  readonly name: string;
  /** CPU time used in the window (user + system), ms. */
  readonly cpuMs: number;
  /** Mean over the window, of one core: 100 = one core busy all the time. */
  readonly cpuPercentOfCore: number;
  /** Resident memory, MiB: mean and peak of the samples; null where not meaningful. */
  readonly rssMeanMiB: number | null;
  readonly rssPeakMiB: number | null;
  readonly samples: number;
}

export const LOAD_GENERATOR = 'load generator (this tool)';
export const POSTGRES = 'postgres';
/** The NATS server, when it runs on this machine: part of what a distributed topology costs (shared with whatever else uses it). */
export const NATS_SERVER = 'nats-server';
/** Rows of the per-process tables that are not the store's own processes. */
export const NOT_STORE = new Set([LOAD_GENERATOR, POSTGRES, NATS_SERVER]);

export interface MachineStats {
  /** Busy time of all cores (user, system, irq, steal), % of one core. */
  readonly busyPercentOfCore: number;
  /** Of it, interrupt handling (irq + softirq: e.g. loopback TCP between the processes). */
  readonly interruptsPercentOfCore: number;
  /** What none of the sampled processes nor interrupts used: other workloads, the kernel. */
  readonly otherPercentOfCore: number;
}

export class ProcessSampler {
  private readonly cpu = new Map<string, { total: number; last: Map<number, number> }>();
  private readonly rss = new Map<string, number[]>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private selfStart = process.cpuUsage();
  private machineStart: { busy: number; interrupts: number } | undefined;

  constructor(
    private readonly targets: readonly ProcessTarget[],
    /** The database server's postmaster, whose children are its backends; undefined: every postgres process. */
    private readonly postmaster: number | undefined,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.startedAt = performance.now();
    this.selfStart = process.cpuUsage();
    this.machineStart = machineCpuMs();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): { processes: ProcessStats[]; machine: MachineStats | null } {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const wallMs = performance.now() - this.startedAt;
    const machineEnd = machineCpuMs();
    const self = process.cpuUsage(this.selfStart);
    const stats = (name: string, cpuMs: number, rss: number[] | undefined): ProcessStats => ({
      name,
      cpuMs: Math.round(cpuMs),
      cpuPercentOfCore: Math.round((1000 * cpuMs) / wallMs) / 10,
      rssMeanMiB: rss && rss.length ? Math.round((10 * rss.reduce((s, x) => s + x, 0)) / rss.length) / 10 : null,
      rssPeakMiB: rss && rss.length ? Math.round(10 * Math.max(...rss)) / 10 : null,
      samples: rss?.length ?? 0,
    });
    const processes = [
      ...this.targets.map((t) => stats(t.name, this.cpu.get(t.name)?.total ?? 0, this.rss.get(t.name))),
      stats(LOAD_GENERATOR, (self.user + self.system) / 1000, this.rss.get(LOAD_GENERATOR)),
      stats(POSTGRES, this.cpu.get(POSTGRES)?.total ?? 0, undefined),
    ];
    let machine: MachineStats | null = null;
    if (this.machineStart !== undefined && machineEnd !== undefined) {
      const busy = machineEnd.busy - this.machineStart.busy;
      const interrupts = machineEnd.interrupts - this.machineStart.interrupts;
      const used = processes.reduce((sum, p) => sum + p.cpuMs, 0);
      const percent = (ms: number) => Math.round((1000 * ms) / wallMs) / 10;
      machine = {
        busyPercentOfCore: percent(busy),
        interruptsPercentOfCore: percent(interrupts),
        otherPercentOfCore: percent(Math.max(0, busy - used - interrupts)),
      };
    }
    return { processes, machine };
  }

  private sample(): void {
    for (const target of this.targets) {
      const pid = target.pid();
      if (pid === undefined) continue;
      this.addCpu(target.name, pid);
      const rss = rssMiB(pid);
      if (rss !== undefined) (this.rss.get(target.name) ?? this.rss.set(target.name, []).get(target.name)!).push(rss);
    }
    (this.rss.get(LOAD_GENERATOR) ?? this.rss.set(LOAD_GENERATOR, []).get(LOAD_GENERATOR)!).push(process.memoryUsage.rss() / 1048576);
    for (const pid of postgresPids(this.postmaster)) this.addCpu(POSTGRES, pid);
  }

  /** Adds what `pid` used since its last sample; a pid seen for the first time counts from now on. */
  private addCpu(name: string, pid: number): void {
    const used = cpuMs(pid);
    if (used === undefined) return;
    const entry = this.cpu.get(name) ?? this.cpu.set(name, { total: 0, last: new Map() }).get(name)!;
    const last = entry.last.get(pid);
    if (last !== undefined) entry.total += Math.max(0, used - last);
    entry.last.set(pid, used);
  }
}

/** The postmaster and its children, or (no postmaster known) every process named postgres. */
function postgresPids(postmaster: number | undefined): number[] {
  return allPids().filter((pid) => (postmaster !== undefined ? pid === postmaster || parentOf(pid) === postmaster : commandOf(pid) === 'postgres'));
}
