import { readdirSync, readFileSync } from 'node:fs';

/*
 * Process and machine CPU and memory from /proc (Linux), for the benches and
 * `npm run compare`. Every reader answers undefined (or nothing) when the
 * process is gone or there is no /proc, rather than failing a run.
 */

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux build Node runs on

/** Fields of /proc/<pid>/stat after the command: "pid (comm) state ppid ...", and comm may hold spaces. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of `pid` in ms (+ cutime + cstime, its reaped children's, when `withExitedChildren`). */
export function cpuMs(pid: number, withExitedChildren = false): number | undefined {
  try {
    const fields = statFields(pid);
    const children = withExitedChildren ? Number(fields[13]) + Number(fields[14]) : 0;
    return ((Number(fields[11]) + Number(fields[12]) + children) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The parent pid of `pid`. */
export function parentOf(pid: number): number | undefined {
  try {
    return Number(statFields(pid)[1]);
  } catch {
    return undefined;
  }
}

/** VmRSS of `pid` in MiB. */
export function rssMiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The command name of `pid` (e.g. postgres). */
export function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Every process id on the machine. */
export function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return [];
  }
}

/** The first process named `command` (e.g. nats-server), or undefined. */
export function findProcess(command: string): number | undefined {
  return allPids().find((pid) => commandOf(pid) === command);
}

/** Busy and interrupt ms of all cores so far, from /proc/stat's "cpu" line. */
export function machineCpuMs(): { busy: number; interrupts: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    const ms = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
    return { busy: ms(user + nice + system + irq + softirq + steal), interrupts: ms(irq + softirq) };
  } catch {
    return undefined;
  }
}

/** How busy the whole machine is over `ms`, % of one core to a tenth (e.g. other workloads before a run). */
export async function machineBusy(ms: number): Promise<number | undefined> {
  const before = machineCpuMs();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = machineCpuMs();
  if (before === undefined || after === undefined) return undefined;
  return Math.round((1000 * (after.busy - before.busy)) / (performance.now() - start)) / 10;
}
