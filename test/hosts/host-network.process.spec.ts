import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { built } from '../../tools/hosts/kubernetes-env.js';
import { HostNetwork, hostNetworkUnavailable, partitionUnavailable } from '../../tools/hosts/host-network.js';
// @ts-expect-error: plain JavaScript shared with the global setup and the reporter
import { recordSkip } from '../support/skipped-suites.js';

/**
 * The hosts the multi-host harness makes are removed whatever ends the run that made them: a run
 * SIGKILLed (a crashed test, a machine's OOM killer) leaves namespaces, a bridge and processes
 * inside them, and the next run removes them. Needs root and iproute2: skipped loudly elsewhere,
 * failed under CI=true. Runs the build's host-network.js in a child (`npm run build` first).
 */
const unavailable = hostNetworkUnavailable() ?? partitionUnavailable();

function describeOnHosts(title: string, fn: () => void): void {
  if (!unavailable) describe(title, fn);
  else if (process.env.CI === 'true')
    describe(title, () => it('needs network namespaces (CI=true: every test must run)', () => expect(unavailable).toBeUndefined()));
  else {
    console.warn(`SKIPPED: cannot make hosts here: ${unavailable}`);
    recordSkip(expect.getState().testPath, title, unavailable);
    describe.skip(title, fn);
  }
}

const namespaces = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}
const links = () => spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;

describeOnHosts('hosts of their own (network namespaces)', () => {
  it('removes what a SIGKILLed run left: its namespaces, its bridge, the processes inside', async () => {
    // A run that makes two hosts, starts a process on one, says its prefix, then waits to be killed.
    const script = `
      const { HostNetwork } = await import(${JSON.stringify(built('tools/hosts/host-network.js'))});
      const { spawn } = await import('node:child_process');
      const network = HostNetwork.create();
      network.addHost('a'); network.addHost('b');
      const argv = network.commandOn('a', 'sleep', ['600']);
      const child = spawn(argv.command, argv.args, { stdio: 'ignore', detached: true });
      console.log(JSON.stringify({ prefix: network.prefix, bridge: network.bridge, sleeper: child.pid }));
      setInterval(() => {}, 1000);`;
    const crashed = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const run = await new Promise<{ prefix: string; bridge: string; sleeper: number }>((resolve) =>
      createInterface({ input: crashed.stdout }).once('line', (line) => resolve(JSON.parse(line))),
    );
    expect(namespaces()).toContain(`${run.prefix}-a`);
    expect(links()).toContain(run.bridge);
    crashed.kill('SIGKILL');
    await new Promise((resolve) => crashed.once('exit', resolve));
    // Still there: nothing ran on the way out.
    expect(namespaces()).toContain(`${run.prefix}-b`);

    expect(HostNetwork.sweepLeftovers()).toContain(run.prefix);
    expect(namespaces()).not.toContain(run.prefix);
    expect(links()).not.toContain(run.bridge);
    // Gone, or a zombie waiting for whoever adopted it to reap it: not running in any case.
    expect(running(run.sleeper)).toBe(false);
  });

  it('partitions a host with drop rules and heals it', async () => {
    const network = HostNetwork.create();
    try {
      network.addHost('a');
      network.addHost('b');
      const reach = (from: string, to: string) =>
        spawnSync('ip', [
          'netns',
          'exec',
          network.host(from).namespace,
          process.execPath,
          '-e',
          `
          const s = require('node:net').connect({ host: '${network.host(to).address}', port: 9 });
          s.setTimeout(1500, () => process.exit(3)); s.on('connect', () => process.exit(0)); s.on('error', (e) => process.exit(e.code === 'ECONNREFUSED' ? 0 : 2));`,
        ]).status;
      // Reachable: the port is closed, so the kernel answers with a reset (a refusal), promptly.
      expect(reach('a', 'b')).toBe(0);
      network.partition('b');
      // Dropped: no answer at all, as across a partition.
      expect(reach('a', 'b')).toBe(3);
      network.heal('b');
      expect(reach('a', 'b')).toBe(0);
    } finally {
      network.remove();
    }
  });
});
