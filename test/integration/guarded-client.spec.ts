import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import pg from 'pg';
import type { Socket } from 'node:net';
import { GuardedClient } from '../../src/platform/database/guarded-client.js';
import { serverUrl } from '../support/test-database.js';
import { eventually } from '../support/eventually.js';

/**
 * A GuardedClient warns of a lost connection, once; but the server ending a connection
 * the client is itself ending (a store stops its pools, then its embedded PostgreSQL,
 * whose fast shutdown reaches backends whose Terminate is still on its way) is no loss:
 * Ctrl-C must stop the store without a warning.
 */
describe('GuardedClient', () => {
  let admin: pg.Client;
  let warn: ReturnType<typeof jest.spyOn>;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: serverUrl() });
    await admin.connect();
  });
  afterAll(() => admin.end());
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
  });
  afterEach(() => warn.mockRestore());

  async function connected(name: string): Promise<{ client: GuardedClient; pid: number; socket: Socket }> {
    const client = new GuardedClient({ connectionString: serverUrl(), application_name: name });
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const socket = (client as unknown as { connection: { stream: Socket } }).connection.stream;
    return { client, pid: rows[0].pid, socket };
  }

  it('warns once when the server ends a connection it did not ask to end', async () => {
    const { client, pid } = await connected('guarded-lost');
    const ended = new Promise((resolve) => client.once('end', resolve));
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await ended;
    expect(warn.mock.calls.map((call: unknown[]) => call[0])).toEqual([expect.stringMatching(/^guarded-lost connection lost \(57P01\)/)]);
  });

  it('says nothing when the server ends a connection the client is ending itself', async () => {
    const { client, pid, socket } = await connected('guarded-ending');
    // Hold the client's Terminate back, so the server's 57P01 reaches a client that is ending.
    socket.cork();
    const ending = client.end();
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await eventually(async () => {
      const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid]);
      expect(rows[0].n).toBe(0);
    });
    socket.uncork();
    await ending;
    expect(warn).not.toHaveBeenCalled();
  });
});
