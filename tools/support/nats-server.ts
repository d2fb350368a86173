import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortRange, natsReachable } from './network.js';

/**
 * A private nats-server with JetStream for one run (a free port, a store
 * directory of its own), so that a run may kill and restart it without
 * disturbing anybody else on the machine's shared server, and its CPU is the
 * run's alone. `restart` keeps the store directory: streams and durable
 * consumers survive, as they would on a real server restarted.
 */
export class PrivateNatsServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly binary: string,
    readonly port: number,
    private readonly storeDir: string,
    /** A configuration file (limits such as max_payload, authorization), or none. */
    private readonly configFile: string | undefined,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The nats-server binary: NATS_SERVER_BIN, /usr/sbin/nats-server, /usr/local/bin/nats-server, or undefined. */
  static findBinary(): string | undefined {
    return [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'].find(
      (file) => file && existsSync(file),
    );
  }

  /** `config`: the text of a server configuration file (e.g. `max_payload: 8192`), for the limits a run needs. */
  static async start(binary: string, config?: string): Promise<PrivateNatsServer> {
    const port = await freePortRange(1);
    const storeDir = mkdtempSync(join(tmpdir(), 'mf-compare-nats-'));
    let configFile: string | undefined;
    if (config !== undefined) {
      configFile = join(storeDir, 'server.conf');
      writeFileSync(configFile, config);
    }
    const server = new PrivateNatsServer(binary, port, join(storeDir, 'js'), configFile);
    await server.spawn();
    return server;
  }

  /** Stops the server (`signal`), waits `downMs`, starts it again on the same port and store. */
  async restart(signal: NodeJS.Signals, downMs: number): Promise<void> {
    await this.kill(signal);
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.spawn();
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    rmSync(join(this.storeDir, '..'), { recursive: true, force: true });
  }

  /** Starts the server (again) on its port and store; resolves when it accepts connections. */
  async spawn(): Promise<void> {
    const args = ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir, ...(this.configFile ? ['-c', this.configFile] : [])];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000)));
    const deadline = Date.now() + 10_000;
    while (!(await natsReachable(this.url))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`nats-server on port ${this.port} did not start: ${output.trim().split('\n').at(-1) ?? ''}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops the server with `signal` (SIGKILL: a crash); resolves when it has exited. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
  }
}
