import { allPids, commandOf, cpuMs, machineCpuMs } from '../../tools/support/proc.js';

export { machineBusy } from '../../tools/support/proc.js';

/**
 * CPU time spent by processes during a phase, read from /proc (Linux), to say
 * which component a run's CPU went to: the store's Node process, the load
 * generator (this process) and every Postgres backend on the machine.
 * Elsewhere it answers nothing rather than failing the run.
 */
export const MACHINE = 'whole machine: busy, all cores (100 = one core)';
const INTERRUPTS = '  of which irq + softirq (e.g. loopback TCP)';

export interface CpuSnapshot {
  readonly at: number;
  readonly ms: ReadonlyMap<string, number>;
}

export interface CpuShare {
  readonly name: string;
  readonly cpuMs: number;
  /** Of one core: 100 = one core busy for the whole phase. */
  readonly percentOfCore: number;
}

/**
 * CPU ms so far of the store (`storePid`), this process, all `postgres`
 * processes, and the whole machine: every core's busy time (user, system,
 * interrupts, steal), which also holds what no process is charged for, such
 * as the loopback network's softirq work.
 */
export function cpuSnapshot(storePid: number): CpuSnapshot {
  const ms = new Map<string, number>();
  const store = cpuMs(storePid);
  if (store !== undefined) ms.set('store (node dist/src/main.js)', store);
  const self = process.cpuUsage();
  ms.set('load generator + client (this process)', (self.user + self.system) / 1000);
  let postgres = 0;
  let found = false;
  for (const pid of allPids()) {
    if (commandOf(pid) !== 'postgres') continue;
    // With its exited children (backends of closed connections, autovacuum workers), which the postmaster reaped.
    const used = cpuMs(pid, true);
    if (used === undefined) continue;
    postgres += used;
    found = true;
  }
  if (found) ms.set('postgres (every server on this machine, exited backends included)', postgres);
  const machine = machineCpuMs();
  if (machine) {
    ms.set(MACHINE, machine.busy);
    ms.set(INTERRUPTS, machine.interrupts);
  }
  return { at: performance.now(), ms };
}

/** What each component used between two snapshots. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuShare[] {
  return cpuOver([[before, after]]);
}

/** The same over several intervals (e.g. the blocks of a phase interleaved with another), summed. */
export function cpuOver(intervals: ReadonlyArray<readonly [CpuSnapshot, CpuSnapshot]>): CpuShare[] {
  const wallMs = intervals.reduce((sum, [before, after]) => sum + (after.at - before.at), 0);
  const used = new Map<string, number>();
  for (const [before, after] of intervals) {
    for (const [name, ms] of after.ms) used.set(name, (used.get(name) ?? 0) + Math.max(0, ms - (before.ms.get(name) ?? 0)));
  }
  const share = (name: string, cpuMs: number): CpuShare => ({ name, cpuMs, percentOfCore: (100 * cpuMs) / wallMs });
  const shares = [...used].map(([name, cpuMs]) => share(name, cpuMs));
  const machine = shares.find((s) => s.name === MACHINE);
  if (machine) {
    // What the machine did besides the processes above: other workloads, kernel threads, interrupts.
    const processes = shares.filter((s) => s.name !== MACHINE && s.name !== INTERRUPTS).reduce((sum, s) => sum + s.cpuMs, 0);
    shares.push(share('  of which not the processes above (other workloads, kernel, irq)', Math.max(0, machine.cpuMs - processes)));
  }
  return shares;
}
