import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/outbox.cli.js', import.meta.url));
const run = promisify(execFile);

/** `npm run outbox` (built CLI) on a real database: a dead letter shown, replayed, and bad input refused in one line. */
describe('npm run outbox', () => {
  let database: TestDatabase;
  const outbox = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'error' } });
  const sql = async (text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('shows stats and dead letters and replays them (the same ModuleOperations the console uses)', async () => {
    // Runs the migrations (the CLI opens the module's database as `npm start` does).
    expect((await outbox('stats', 'orders')).stdout).toContain('orders: 0 pending (oldest 0 ms), 0 dead');
    const eventId = randomUUID();
    await sql(`INSERT INTO orders.outbox (id, name, version, aggregate_id, payload) VALUES ($1, 'orders.OrderConfirmed', 1, 'o-9', '{}')`, [eventId]);
    await sql(
      `INSERT INTO orders.outbox_deliveries (event_id, subscriber, position, aggregate_id, status, attempts, last_error)
       SELECT id, 'notifications.order-outcomes', position, aggregate_id, 'DEAD', 8, 'handler kept failing' FROM orders.outbox WHERE id = $1`,
      [eventId],
    );
    expect((await outbox('stats', 'orders')).stdout).toContain('0 pending (oldest 0 ms), 1 dead');
    const letters = (await outbox('dead-letters', 'orders')).stdout;
    expect(letters).toContain(`${eventId}  orders.OrderConfirmed  aggregate=o-9  subscriber=notifications.order-outcomes  attempts=8`);
    expect(letters).toContain('handler kept failing');
    expect((await outbox('replay', 'orders', eventId)).stdout).toContain('orders: 1 dead letter(s) put back in line');
    const [row] = await sql('SELECT status, attempts FROM orders.outbox_deliveries WHERE event_id = $1', [eventId]);
    expect(row).toEqual({ status: 'PENDING', attempts: 0 });

    // Bad usage, each: exit 2 and one line (docs/development.md, "The CLIs").
    for (const bad of [['frobnicate', 'orders'], ['stats'], ['stats', 'nowhere'], ['replay', 'orders', 'not-an-id']]) {
      const failed = await outbox(...bad).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect({ bad, code: failed?.code }).toEqual({ bad, code: 2 });
      expect(failed?.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 120_000);
});
