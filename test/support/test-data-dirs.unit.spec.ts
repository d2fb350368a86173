import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error -- plain JavaScript (jest's global setup imports it natively), without typings
import { DATA_DIR_PREFIX, removeDataDirsOfGoneCheckouts } from './test-data-dirs.js';

/** The embedded PostgreSQL's data directories of test runs: one per checkout, gone with the checkout. */
describe('test data directories', () => {
  let base: string;
  beforeEach(() => (base = mkdtempSync(join(tmpdir(), 'data-dirs-'))));
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  function dataDir(name: string, checkout: string, pid?: number): string {
    const dir = join(base, `${DATA_DIR_PREFIX as string}${name}`);
    mkdirSync(dir);
    if (pid !== undefined) writeFileSync(join(dir, 'postmaster.pid'), `${pid}\n${dir}\n`);
    writeFileSync(`${dir}.checkout`, checkout);
    return dir;
  }

  it("removes the directory of a checkout that is gone, keeps a live checkout's, and one whose server still runs", () => {
    const live = mkdtempSync(join(base, 'checkout-'));
    writeFileSync(join(live, 'package.json'), '{}');
    const kept = dataDir('live', live);
    const gone = dataDir('gone', join(base, 'no-such-checkout'));
    const serving = dataDir('serving', join(base, 'also-gone'), process.pid);
    const unmarked = join(base, `${DATA_DIR_PREFIX as string}unmarked`);
    mkdirSync(unmarked);

    (removeDataDirsOfGoneCheckouts as (base: string) => void)(base);

    expect({
      kept: existsSync(kept),
      gone: existsSync(gone) || existsSync(`${gone}.checkout`),
      serving: existsSync(serving),
      unmarked: existsSync(unmarked),
    }).toEqual({ kept: true, gone: false, serving: true, unmarked: true });
  });
});
