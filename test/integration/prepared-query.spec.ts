import { DataSource } from 'typeorm';
import { queryPrepared } from '../../src/platform/database/prepared-query.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

describe('queryPrepared (real Postgres)', () => {
  let database: TestDatabase;
  let db: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await new DataSource({ type: 'postgres', url: database.url }).initialize();
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('runs a readable multi-line statement with SQL comments, and again from the prepared plan', async () => {
    const sql = `SELECT $1::int + 1 AS n -- a comment ends at its line
                   , 'kept' AS word
                 -- a whole line of comment
                 WHERE $1::int >= 0`;
    expect(await queryPrepared(db, 'test.comments', sql, [1])).toEqual([{ n: 2, word: 'kept' }]);
    expect(await queryPrepared(db, 'test.comments', sql, [41])).toEqual([{ n: 42, word: 'kept' }]);
  });

  it('keeps two texts under one label apart', async () => {
    expect(await queryPrepared(db, 'test.same-label', 'SELECT 1 AS n', [])).toEqual([{ n: 1 }]);
    expect(await queryPrepared(db, 'test.same-label', 'SELECT 2 AS n', [])).toEqual([{ n: 2 }]);
  });
});
