import { createFreshDatabase, type FreshDatabase } from '../../tools/support/postgres-admin.js';

/**
 * A fresh database on the test server for one test file, so files can run in
 * parallel and every test starts from an empty store.
 */
export type TestDatabase = FreshDatabase;

export function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: the jest global setup should have set it');
  return url;
}

export function createTestDatabase(prefix = 'mf_test'): Promise<TestDatabase> {
  return createFreshDatabase(serverUrl(), prefix);
}
