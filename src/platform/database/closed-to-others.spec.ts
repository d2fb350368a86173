import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedToOthers } from './embedded-postgres.js';

describe('closedToOthers (can the postgres user reach a path?)', () => {
  const root = mkdtempSync(join(tmpdir(), 'mf-closed-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('names the first directory other users cannot search, and nothing when all can', () => {
    const inner = join(root, 'a', 'b');
    mkdirSync(inner, { recursive: true });
    chmodSync(root, 0o755);
    chmodSync(join(root, 'a'), 0o755);
    expect(closedToOthers(inner)).toBeUndefined();
    chmodSync(root, 0o700); // as mkdtemp leaves it
    expect(closedToOthers(inner)).toBe(root);
    chmodSync(root, 0o755);
    chmodSync(join(root, 'a'), 0o750);
    expect(closedToOthers(inner)).toBe(join(root, 'a'));
  });
});
