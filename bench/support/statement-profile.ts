import pg from 'pg';
import { printTable } from './stats.js';

/**
 * The server settings a profile needs, for `startDatabaseServer({ settings })`: the extension
 * preloaded, planning timed too, and every autovacuum run logged beside the checkpoints (the
 * server's log then says what else ran during a phase).
 */
export const STATEMENT_PROFILE_SETTINGS = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track_planning': 'on',
  log_autovacuum_min_duration: '0',
} as const;

/** One statement's share of a phase: how often it ran and how long it took, per unit of work (a confirmed order, say). */
interface StatementShare {
  readonly calls: number;
  readonly ms: number;
}

/** What one phase sent to the database, by statement, and how many units of work it did. */
interface PhaseStatements {
  readonly phase: string;
  readonly units: number;
  readonly byStatement: ReadonlyMap<string, StatementShare & { readonly text: string }>;
}

/**
 * What the store asks of PostgreSQL per unit of work, phase by phase (pg_stat_statements on
 * the bench's own server): which statements a phase runs more often, or that take longer, per
 * confirmed order than another phase's. The bench's own queries (its admin role) are left out.
 * Execution and planning time are PostgreSQL's account; the client's parse/bind round trips
 * are only seen as calls.
 */
export class StatementProfile {
  private readonly phases: PhaseStatements[] = [];

  private constructor(
    private readonly admin: pg.Client,
    private readonly database: string,
  ) {}

  /** On the database of `adminUrl`, whose server must have pg_stat_statements preloaded (STATEMENT_PROFILE_SETTINGS). */
  static async open(adminUrl: string): Promise<StatementProfile> {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ libraries: string }>(`SELECT current_setting('shared_preload_libraries') AS libraries`);
      if (!rows[0].libraries.split(',').some((library) => library.trim() === 'pg_stat_statements')) {
        throw new Error(
          `--statements needs pg_stat_statements preloaded: the embedded server (unset DATABASE_URL) has it; this one has '${rows[0].libraries}'`,
        );
      }
      await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      return new StatementProfile(admin, new URL(adminUrl).pathname.slice(1));
    } catch (error) {
      await admin.end().catch(() => {});
      throw error;
    }
  }

  /** Forgets what was counted: the phase to be measured starts now. */
  async reset(): Promise<void> {
    await this.admin.query('SELECT pg_stat_statements_reset()');
  }

  /** What was counted since `reset`, as phase `phase` that did `units` units of work. */
  async record(phase: string, units: number): Promise<void> {
    const { rows } = await this.admin.query<{ queryid: string; query: string; calls: string; ms: number }>(
      `SELECT s.queryid::text AS queryid, s.query, s.calls::text AS calls, s.total_exec_time + s.total_plan_time AS ms
         FROM pg_stat_statements s
         JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = $1 AND s.userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
      [this.database],
    );
    const byStatement = new Map<string, StatementShare & { text: string }>();
    for (const row of rows) {
      const text = row.query.replace(/\s+/g, ' ').trim();
      const earlier = byStatement.get(text);
      byStatement.set(text, { text, calls: (earlier?.calls ?? 0) + Number(row.calls), ms: (earlier?.ms ?? 0) + Number(row.ms) });
    }
    this.phases.push({ phase, units, byStatement });
  }

  /** Prints, per unit of work, every phase's calls and milliseconds: all statements, then the `top` that took the most time. */
  print(title: string, unit: string, top = 15): void {
    if (this.phases.length === 0) return;
    const total = (phase: PhaseStatements, pick: (share: StatementShare) => number) =>
      [...phase.byStatement.values()].reduce((sum, share) => sum + pick(share), 0) / phase.units;
    const texts = new Map<string, number>();
    for (const phase of this.phases)
      for (const [text, share] of phase.byStatement) texts.set(text, (texts.get(text) ?? 0) + (phase.units > 0 ? share.ms / phase.units : 0));
    const heaviest = [...texts.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
    console.log(`\n${title}: statements per ${unit} (calls / ms of PostgreSQL's execution and planning), by phase\n`);
    printTable(
      ['statement', ...this.phases.map((phase) => `${phase.phase} (${phase.units} ${unit}s)`)],
      [
        ['all statements', ...this.phases.map((phase) => `${total(phase, (s) => s.calls).toFixed(1)} / ${total(phase, (s) => s.ms).toFixed(2)}`)],
        ...heaviest.map(([text]) => [
          text.length > 90 ? `${text.slice(0, 87)}...` : text,
          ...this.phases.map((phase) => {
            const share = phase.byStatement.get(text);
            return share && phase.units > 0 ? `${(share.calls / phase.units).toFixed(2)} / ${(share.ms / phase.units).toFixed(3)}` : '-';
          }),
        ]),
      ],
    );
  }

  async close(): Promise<void> {
    await this.admin.end().catch(() => {});
  }
}
