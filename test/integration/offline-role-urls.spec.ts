import pg from 'pg';
import { moduleRoleUrl, provisionModule } from '../../src/platform/database/provisioning.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * `npm run provision -- --offline` computes the role URLs an operator hands the services before
 * the provisioning Job has run: they must be exactly the URLs the Job's provisioning then makes
 * work (same role, same password), on a real PostgreSQL.
 */
describe('role URLs computed offline (provision --offline)', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('are those provisioning creates with the same DB_ROLE_SECRET, and they connect', async () => {
    const secret = 'offline-role-secret';
    const offline = moduleRoleUrl(database.url, 'inventory', secret);
    const provisioned = await provisionModule(database.url, 'inventory', secret);
    expect(offline).toBe(provisioned.url);
    const client = new pg.Client({ connectionString: offline });
    await client.connect();
    try {
      const { rows } = await client.query<{ user: string }>('SELECT current_user AS user');
      expect(rows[0].user).toBe(decodeURIComponent(new URL(offline).username));
    } finally {
      await client.end();
    }
  });

  it('are refused, in one line, for an admin URL that names no database', () => {
    expect(() => moduleRoleUrl('postgres://admin@db.example:5432', 'inventory', 's')).toThrow(/names no database/);
  });
});
