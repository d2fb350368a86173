import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATS_AVAILABLE } from '../support/needs-nats.js';

/**
 * `npm run new:module` as a module author runs it, in a throwaway copy of
 * this repository (node_modules linked, not copied): the generated module
 * builds, passes `npm run verify`, and its own test passes there (it starts
 * the store in every topology: NATS-less machines skip the remote ones, as
 * every topology suite does). A bad name changes nothing.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'dist/tools/new-module/new-module.cli.js');
/** What a build, verify and jest read. */
const COPIED = [
  'src',
  'migrations',
  'bench',
  'tools',
  'test/fixtures',
  'test/support',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
  'jest.config.js',
  'verify-baseline.json',
  'contracts.snapshot.json',
];
const NODE = join(REPO, 'node_modules/.bin/node');

let root: string;

function run(command: string, args: readonly string[], timeout = 240_000) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', timeout, env: { ...process.env, CI: '' } });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`no build at ${CLI}: run \`npm run build\` first (\`npm test\` builds before testing)`);
  root = mkdtempSync(join(tmpdir(), 'new-module-'));
  for (const entry of COPIED) cpSync(join(REPO, entry), join(root, entry), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('npm run new:module', () => {
  it.each([
    ['Loyalty', /^new:module: 'Loyalty' is not a module name: /],
    ['orders', /^new:module: module 'orders' exists already/],
    ['public', /^new:module: 'public' is reserved/],
  ])('refuses %j with one line and a non-zero exit, writing nothing', (name, line) => {
    const before = [tree(join(root, 'src')), tree(join(root, 'migrations'))];
    const result = spawnSync(process.execPath, [CLI, '--root', root, name], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(line)]);
    expect([tree(join(root, 'src')), tree(join(root, 'migrations'))]).toEqual(before);
  });

  it('says how to use it without a name (exit 2)', () => {
    const result = spawnSync(process.execPath, [CLI, '--root', root], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^new:module: usage: npm run new:module -- <name>/);
  });

  it('scaffolds a module that builds, passes verify and passes its own test', () => {
    const generated = spawnSync(process.execPath, [CLI, '--root', root, 'gift_cards'], { encoding: 'utf8' });
    expect(generated.stderr).toBe('');
    expect(generated.status).toBe(0);
    const files = generated.stdout
      .split('\n')
      .filter((line) => line.startsWith('  '))
      .map((line) => line.trim());
    expect(files).toEqual(
      expect.arrayContaining([
        'src/modules/gift_cards/module.json',
        'src/modules/gift_cards/gift_cards.module.ts',
        'src/modules/gift_cards/index.ts',
        'src/modules/gift_cards/README.md',
        'src/modules/gift_cards/contract/gift-cards.contract.ts',
        'src/modules/gift_cards/internal/create-item/create-item.handler.ts',
        'src/modules/gift_cards/internal/get-item/get-item.handler.ts',
        expect.stringMatching(/^migrations\/gift_cards\/\d+-create-items\.ts$/),
        'test/e2e/gift-cards.e2e.spec.ts',
      ]),
    );
    expect(readFileSync(join(root, 'src/modules/gift_cards/contract/gift-cards.contract.ts'), 'utf8')).toContain("defineContract('gift_cards'");

    // With a workflow: its items go through a saga whose effect is in the module's own terms (ADR 35).
    const withWorkflow = spawnSync(process.execPath, [CLI, '--root', root, 'loyalty', '--workflow'], { encoding: 'utf8' });
    expect({ status: withWorkflow.status, stderr: withWorkflow.stderr }).toEqual({ status: 0, stderr: '' });
    expect(withWorkflow.stdout).toContain('src/modules/loyalty/internal/item-workflow/item-workflow.ts');
    const workflow = readFileSync(join(root, 'src/modules/loyalty/internal/item-workflow/item-workflow.ts'), 'utf8');
    expect(workflow).toContain("update: { table: 'items', set: 'status = :status, updated_at = now()', where: 'id = :key::uuid' }");
    // Nothing of the platform's insides: no parameter numbers, no CTE of the engine's.
    expect(workflow).not.toMatch(/\$1[0-9]|moved/);

    const build = run(NODE, ['tools/build/build.mjs']);
    expect({ status: build.status, output: build.status === 0 ? '' : build.output }).toEqual({ status: 0, output: '' });

    const verify = run(NODE, ['dist/tools/verify/verify.cli.js']);
    expect({ status: verify.status, output: verify.status === 0 ? '' : verify.output }).toEqual({ status: 0, output: '' });
    expect(verify.output).toMatch(/verify: ok: 0 violations/);
    expect(verify.output).toContain('gift_cards');

    const test = run(
      NODE,
      ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', 'test/e2e/gift-cards.e2e.spec.ts', 'test/e2e/loyalty.e2e.spec.ts', '--maxWorkers=1'],
      540_000,
    );
    expect({ status: test.status, output: test.status === 0 ? '' : test.output }).toEqual({ status: 0, output: '' });
    // Two tests in each of three topologies, for each module; without NATS (and not under CI) the remote ones are skipped.
    expect(test.output).toMatch(NATS_AVAILABLE ? /Tests: +12 passed, 12 total/ : /Tests: +8 skipped, 4 passed, 12 total/);
  }, 900_000);
});
