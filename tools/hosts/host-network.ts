import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Hosts of their own on one Linux machine: a network namespace per host, each with a veth pair
 * to one bridge (the "datacenter network"), an address in 198.18.0.0/15 (RFC 2544's range for
 * network benchmarks: never a real network's), a resolver file of its own (`ip netns exec`
 * bind-mounts /etc/netns/<namespace>/hosts over /etc/hosts, so host names resolve as cluster DNS
 * would), optionally a CPU share (a cgroup's quota), and partitions as nftables drop rules.
 *
 * Needs root and iproute2 (and nftables for partitions). Every name carries a prefix unique to
 * the run, recorded in /run/mf-hosts with the owner's pid: a later run removes what a crashed
 * one left (namespaces, the bridge, processes inside, resolver files, cgroups).
 */
export interface Host {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  /** The cgroup (v1 `cpu` or v2) the host's processes run in when its CPU is bounded. */
  cgroup?: string;
}

const STATE_DIR = '/run/mf-hosts';
const PARTITION_TABLE = 'mf_partition';

/** Why hosts cannot be made here, or undefined when they can (root, iproute2, namespaces). */
export function hostNetworkUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (run as root, e.g. in CI)';
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (ip.error) return 'iproute2 (`ip`) is not installed: apt-get install iproute2';
  const probe = `mfhprobe${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', probe]);
  if (add.status !== 0) return `cannot create a network namespace: ${add.stderr.trim()}`;
  return undefined;
}

/** Why partitions cannot be made (no nft), or undefined. */
export function partitionUnavailable(): string | undefined {
  return spawnSync('nft', ['--version'], { encoding: 'utf8' }).error ? 'nftables (`nft`) is not installed: apt-get install nftables' : undefined;
}

/** How CPU can be bounded per host here: a cgroup v1 `cpu` hierarchy, v2, or not at all (and why). */
export function cpuBounding(): { kind: 'v1' | 'v2'; root: string } | { kind: 'none'; why: string } {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const controllers = readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8');
    return controllers.includes('cpu') ? { kind: 'v2', root: '/sys/fs/cgroup' } : { kind: 'none', why: 'cgroup v2 without the cpu controller' };
  }
  if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) return { kind: 'v1', root: '/sys/fs/cgroup/cpu' };
  return { kind: 'none', why: 'no cgroup cpu controller is mounted' };
}

function run(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', input });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr.trim() || `exit ${result.status}`}`);
  return result.stdout;
}

function quiet(command: string, args: readonly string[]): void {
  spawnSync(command, args, { encoding: 'utf8' });
}

interface RunRecord {
  readonly pid: number;
  readonly prefix: string;
  readonly bridge: string;
  readonly namespaces: string[];
  readonly cgroups: string[];
}

export class HostNetwork {
  private readonly hosts = new Map<string, Host>();
  private readonly cgroups: string[] = [];
  private next = 10;
  private removed = false;

  private constructor(
    readonly prefix: string,
    readonly bridge: string,
    /** The first three octets of the run's /24. */
    private readonly subnet: string,
    /** The root namespace's address on the bridge: where the harness itself (the client) is. */
    readonly clientAddress: string,
  ) {}

  /** Makes the bridge (after removing what crashed runs left). Throws when it cannot (see hostNetworkUnavailable). */
  static create(): HostNetwork {
    HostNetwork.sweepLeftovers();
    const prefix = `mfh${randomBytes(3).toString('hex').slice(0, 5)}`;
    // A /24 of 198.18.0.0/15 per run, so two runs side by side never share addresses.
    const random = randomBytes(2);
    const subnet = `198.${18 + (random[0] & 1)}.${random[1]}`;
    const network = new HostNetwork(prefix, `${prefix}br`, subnet, `${subnet}.1`);
    network.record();
    try {
      run('ip', ['link', 'add', network.bridge, 'type', 'bridge']);
      run('ip', ['addr', 'add', `${network.clientAddress}/24`, 'dev', network.bridge]);
      run('ip', ['link', 'set', network.bridge, 'up']);
    } catch (error) {
      network.remove();
      throw error;
    }
    return network;
  }

  /** A host on the bridge: its namespace, veth pair, address, loopback up. */
  addHost(name: string): Host {
    if (!/^[a-z0-9-]{1,20}$/.test(name)) throw new Error(`host name '${name}': expected 1-20 of a-z, 0-9, -`);
    if (this.hosts.has(name)) throw new Error(`host '${name}' exists`);
    const index = this.next++;
    const host: Host = { name, namespace: `${this.prefix}-${name}`, address: `${this.subnet}.${index}` };
    this.hosts.set(name, host);
    this.record();
    const outside = `${this.prefix}v${index}`;
    const inside = `${this.prefix}i${index}`;
    run('ip', ['netns', 'add', host.namespace]);
    run('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
    run('ip', ['link', 'set', inside, 'netns', host.namespace]);
    run('ip', ['link', 'set', outside, 'master', this.bridge]);
    run('ip', ['link', 'set', outside, 'up']);
    const inNs = (...args: string[]) => run('ip', ['netns', 'exec', host.namespace, 'ip', ...args]);
    inNs('link', 'set', inside, 'name', 'eth0');
    inNs('addr', 'add', `${host.address}/24`, 'dev', 'eth0');
    inNs('link', 'set', 'eth0', 'up');
    inNs('link', 'set', 'lo', 'up');
    return host;
  }

  host(name: string): Host {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host '${name}'`);
    return host;
  }

  get allHosts(): Host[] {
    return [...this.hosts.values()];
  }

  /**
   * Gives every host the same resolver file: `names` (a host name, e.g. `nats` or
   * `nats-0.nats-headless`) to the address of the host serving it, as a cluster's DNS answers.
   */
  writeResolver(names: Readonly<Record<string, string>>): void {
    const lines = ['127.0.0.1 localhost', ...Object.entries(names).map(([name, host]) => `${this.host(host).address} ${name}`)];
    for (const host of this.hosts.values()) {
      const dir = `/etc/netns/${host.namespace}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'hosts'), `${lines.join('\n')}\n${host.address} ${host.name}\n`);
    }
  }

  /** Bounds the host's CPU to `cores` (a quota per 100 ms period); false when the kernel cannot. */
  boundCpu(name: string, cores: number): boolean {
    const how = cpuBounding();
    if (how.kind === 'none') return false;
    const host = this.host(name);
    const group = join(how.root, `${this.prefix}-${name}`);
    mkdirSync(group, { recursive: true });
    this.cgroups.push(group);
    this.record();
    const period = 100_000;
    const quota = Math.max(1000, Math.round(cores * period));
    if (how.kind === 'v1') {
      writeFileSync(join(group, 'cpu.cfs_period_us'), String(period));
      writeFileSync(join(group, 'cpu.cfs_quota_us'), String(quota));
    } else {
      writeFileSync(join(group, 'cpu.max'), `${quota} ${period}`);
    }
    host.cgroup = group;
    return true;
  }

  /**
   * The argv that runs `command` on the host: in its namespace (and its resolver file). `ip netns
   * exec` execs the command, so the pid is the command's: `enterCgroup` it then.
   */
  commandOn(name: string, command: string, args: readonly string[]): { command: string; args: string[] } {
    return { command: 'ip', args: ['netns', 'exec', this.host(name).namespace, command, ...args] };
  }

  /**
   * Moves a process (just spawned with commandOn) into the host's cgroup, when its CPU is bounded.
   * From here, not from inside: `ip netns exec` mounts a sysfs of the namespace's own over /sys,
   * where the cgroup hierarchy is not mounted. The process runs unbounded for the moment between.
   */
  enterCgroup(name: string, pid: number | undefined): void {
    const group = this.host(name).cgroup;
    if (group && pid !== undefined) writeFileSync(join(group, 'cgroup.procs'), String(pid));
  }

  /** Cuts the host off from every other (and from the harness): nftables drop rules in its namespace, both ways. */
  partition(name: string): void {
    const host = this.host(name);
    const rules = `table inet ${PARTITION_TABLE} {
  chain input { type filter hook input priority 0; policy accept; iifname "lo" accept; drop; }
  chain output { type filter hook output priority 0; policy accept; oifname "lo" accept; drop; }
}
`;
    run('ip', ['netns', 'exec', host.namespace, 'nft', '-f', '-'], rules);
  }

  /** Removes the host's drop rules: packets flow again (TCP retransmits what was dropped). */
  heal(name: string): void {
    const host = this.host(name);
    quiet('ip', ['netns', 'exec', host.namespace, 'nft', 'delete', 'table', 'inet', PARTITION_TABLE]);
  }

  /** Removes every host, its processes, the bridge, the resolver files and cgroups. Safe to call twice. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    HostNetwork.removeRun({
      pid: process.pid,
      prefix: this.prefix,
      bridge: this.bridge,
      namespaces: this.allHosts.map((host) => host.namespace),
      cgroups: this.cgroups,
    });
  }

  private record(): void {
    mkdirSync(STATE_DIR, { recursive: true });
    const record: RunRecord = {
      pid: process.pid,
      prefix: this.prefix,
      bridge: this.bridge,
      namespaces: this.allHosts.map((host) => host.namespace),
      cgroups: this.cgroups,
    };
    writeFileSync(join(STATE_DIR, `${this.prefix}.json`), JSON.stringify(record));
  }

  /** Removes what runs whose process is gone left behind (a SIGKILLed test, a crashed machine's /run survives no reboot). */
  static sweepLeftovers(): string[] {
    if (!existsSync(STATE_DIR)) return [];
    const swept: string[] = [];
    for (const file of readdirSync(STATE_DIR).filter((name) => name.endsWith('.json'))) {
      let record: RunRecord;
      try {
        record = JSON.parse(readFileSync(join(STATE_DIR, file), 'utf8')) as RunRecord;
      } catch {
        rmSync(join(STATE_DIR, file), { force: true });
        continue;
      }
      if (alive(record.pid)) continue;
      HostNetwork.removeRun(record);
      swept.push(record.prefix);
    }
    return swept;
  }

  private static removeRun(record: RunRecord): void {
    for (const namespace of record.namespaces) {
      const pids = spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
    // The namespaces' processes must be gone before a namespace (and its veth end) goes away.
    for (const namespace of record.namespaces) {
      for (let i = 0; i < 50 && (spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' }).stdout ?? '').trim() !== ''; i++) {
        spawnSync('sleep', ['0.05']);
      }
      quiet('ip', ['netns', 'del', namespace]);
      rmSync(`/etc/netns/${namespace}`, { recursive: true, force: true });
    }
    quiet('ip', ['link', 'del', record.bridge]);
    for (const group of record.cgroups) {
      try {
        rmdirSync(group);
      } catch {
        quiet('rmdir', [group]);
      }
    }
    rmSync(join(STATE_DIR, `${record.prefix}.json`), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
