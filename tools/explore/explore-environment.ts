import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres.js';
import { freePortRange } from '../support/network.js';
import { PrivateNatsServer } from '../support/nats-server.js';
import { createFreshDatabase, type FreshDatabase } from '../support/postgres-admin.js';

/**
 * The explorer's own PostgreSQL and nats-server, started for one run of the
 * explorer and restarted by its schedules: never the machine's shared servers
 * (other work runs on them). Each schedule gets a fresh database and a NATS
 * subject prefix of its own on them.
 */
export class ExploreEnvironment {
  private constructor(
    private postgres: EmbeddedServer | undefined,
    private readonly dataDir: string,
    readonly postgresPort: number,
    readonly nats: PrivateNatsServer,
    /** The admin URL of the server's `store` database (schedules take fresh ones beside it). */
    readonly serverUrl: string,
  ) {}

  static async start(): Promise<ExploreEnvironment> {
    const binary = PrivateNatsServer.findBinary();
    if (!binary) throw new Error('no nats-server binary (set NATS_SERVER_BIN): the explorer restarts a NATS server of its own');
    const base = mkdtempSync(join(tmpdir(), 'mf-explore-'));
    // Run as root, PostgreSQL runs as 'postgres', which must reach the data directory's parent.
    chmodSync(base, 0o755);
    const dataDir = join(base, 'postgres');
    const port = await freePortRange(1);
    const postgres = await startEmbeddedPostgres({ dataDir, port });
    let nats: PrivateNatsServer;
    try {
      nats = await PrivateNatsServer.start(binary);
    } catch (error) {
      await postgres.stop();
      throw error;
    }
    return new ExploreEnvironment(postgres, dataDir, port, nats, postgres.url);
  }

  freshDatabase(): Promise<FreshDatabase> {
    return createFreshDatabase(this.serverUrl, 'explore');
  }

  /** A fast shutdown (every session ended with 57P01, as an operator's restart does), `downMs` away, then up again. */
  async restartPostgres(downMs: number): Promise<void> {
    await this.stopPostgres();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.startPostgres();
  }

  async stopPostgres(): Promise<void> {
    await this.postgres?.stop();
    this.postgres = undefined;
  }

  async startPostgres(): Promise<void> {
    if (this.postgres) return;
    this.postgres = await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.postgresPort });
  }

  async stop(): Promise<void> {
    await this.nats.stop().catch(() => {});
    await this.postgres?.stop().catch(() => {});
    rmSync(join(this.dataDir, '..'), { recursive: true, force: true });
  }
}
