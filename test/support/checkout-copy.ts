import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * What a clone of the checkout `from` holds, at `to`: every file git tracks or would add (the
 * working tree as it is, uncommitted changes included), and node_modules hard-linked (same inodes,
 * new directories), as `npm install` would have left it, without the minutes and the registry.
 */
export function copyCheckout(from: string, to: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: from, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(from, file)));
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    copyFileSync(join(from, file), join(to, file));
  }
  execFileSync('cp', ['-al', join(from, 'node_modules'), join(to, 'node_modules')]);
}
