import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/sagas.cli.js', import.meta.url));
const run = promisify(execFile);

/** `npm run sagas` (built CLI) on a real database: where each saga stands, and an operator's signal, cancel and bad input. */
describe('npm run sagas', () => {
  let database: TestDatabase;
  const sagas = (...args: string[]) =>
    run(process.execPath, [CLI, ...args, '--module', 'orders'], { env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'error' } });
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

  it('lists waiting sagas with what they await and until when; records a signal once; cancels; refuses bad input in one line', async () => {
    expect((await sagas('list')).stdout).toContain('no sagas in flight');
    await sql(
      `INSERT INTO orders.sagas (saga, key, step, status, definition_version, wake_at, awaiting, next_run_at)
       VALUES ('delivery', 'o-1', 'AWAIT_DELIVERY', 'WAITING', 2, '2031-01-02T03:04:05Z', '{shipping.ShipmentDelivered,shipping.ShipmentReturned}', '2031-01-02T03:04:05Z')`,
    );
    const listed = (await sagas('list')).stdout;
    expect(listed).toContain(
      'orders  delivery v2  WAITING  at AWAIT_DELIVERY  o-1  waits for shipping.ShipmentDelivered | shipping.ShipmentReturned until 2031-01-02T03:04:05.000Z',
    );

    expect((await sagas('signal', 'delivery', 'o-1', 'shipping.ShipmentDelivered', 'sig-1')).stdout).toContain('recorded');
    expect((await sagas('signal', 'delivery', 'o-1', 'shipping.ShipmentDelivered', 'sig-1')).stdout).toContain('counted once');
    const [due] = await sql(`SELECT next_run_at <= now() AS due, signals FROM orders.sagas WHERE key = 'o-1'`);
    expect(due).toEqual({ due: true, signals: 1 });

    expect((await sagas('cancel', 'o-1')).stdout).toContain('delivery saga o-1 gives up at AWAIT_DELIVERY');
    expect((await sagas('list')).stdout).toContain('cancel asked (CANCELLED_BY_OPERATOR)');

    // Bad usage exits 2, a failure 1 (docs/development.md, "The CLIs"); one line either way.
    for (const [code, bad] of [
      [2, ['frobnicate']],
      [2, ['signal', 'delivery']],
      [2, ['cancel']],
      [1, ['cancel', 'no-such-key']],
    ] as const) {
      const failed = await sagas(...bad).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect({ bad, code: failed?.code }).toEqual({ bad, code });
      expect(failed?.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 120_000);
});
