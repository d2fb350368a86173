import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const shared = join(root, '..', 'shared', 'spec');

/**
 * docs/api.md and docs/topology.md are the contracts outside suites run against,
 * copied in so that a clone has them. Where the originals are beside the checkout
 * (a developer's machine, CI), the copies must be byte-identical.
 */
describe('the contracts copied into docs/', () => {
  for (const [copy, original] of [
    ['docs/api.md', 'store-api.md'],
    ['docs/topology.md', 'topology.md'],
  ] as const) {
    const source = join(shared, original);
    (existsSync(source) ? it : it.skip)(`${copy} is ${original}, unchanged`, () => {
      expect(readFileSync(join(root, copy), 'utf8')).toBe(readFileSync(source, 'utf8'));
    });
  }
});
