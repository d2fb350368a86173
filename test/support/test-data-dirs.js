import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const DATA_DIR_PREFIX = 'monolith-first-test-postgres-';

/**
 * A data directory per checkout is reused by its runs (an initdb is seconds); one of a checkout
 * that no longer exists (a clone in a temporary directory, a removed worktree) would stay for ever:
 * removed here, unless its server still runs. Beside each directory, `<dir>.checkout` names its
 * checkout (global-setup.js writes it).
 */
export function removeDataDirsOfGoneCheckouts(base) {
  let names;
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(DATA_DIR_PREFIX) || !name.endsWith('.checkout')) continue;
    const marker = join(base, name);
    const dir = marker.slice(0, -'.checkout'.length);
    try {
      if (existsSync(join(readFileSync(marker, 'utf8'), 'package.json')) || running(dir)) continue;
      rmSync(dir, { recursive: true, force: true });
      rmSync(marker, { force: true });
    } catch {
      // Another user's, or in use: left alone.
    }
  }
}

/** Whether the postmaster of a data directory is alive (its pid file names it). */
function running(dir) {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}
