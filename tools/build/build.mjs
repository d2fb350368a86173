#!/usr/bin/env node
/**
 * `npm run build`, and the pre-step of every script that runs the build.
 *
 * Several processes of one checkout start from `dist/` at once (the topologies by hand, one
 * terminal each), so a build must never pull files from under a running or starting process,
 * and a start on an up-to-date build must not pay for a build:
 *
 * - nothing to do when the inputs (file names, sizes and mtimes) are those of the current build;
 * - otherwise `nest build` into a fresh `.build-<id>/`, then `dist` (a symlink) is switched to it
 *   with one rename, which is atomic: a process sees the old build or the new one, never half;
 * - one build at a time per checkout (a lock); the others wait and then find it up to date;
 * - the previous builds stay (the newest KEEP), so a process started from one keeps its files.
 *
 * Plain JavaScript, not compiled: it has to run before there is a build.
 * `--force` rebuilds even when up to date; `--quiet` says nothing when there is nothing to do.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');
/** What `nest build` reads: tsconfig.build.json's include, the configs, and the installed dependencies. */
const INPUTS = ['src', 'migrations', 'bench', 'tools', 'test/fixtures', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'package-lock.json'];
const STAMP = '.inputs';
const KEEP = 3;

const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');

function fingerprint() {
  const hash = createHash('sha256');
  const visit = (path) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name));
    } else {
      hash.update(`${relative(ROOT, path)}\0${stat.size}\0${stat.mtimeMs}\n`);
    }
  };
  for (const input of INPUTS) visit(join(ROOT, input));
  return hash.digest('hex');
}

function currentStamp() {
  try {
    return readFileSync(join(DIST, STAMP), 'utf8');
  } catch {
    return undefined;
  }
}

async function main() {
  // Imported here, so that a checkout without `npm install` gets one line rather than a stack trace.
  const lockfile = await import('proper-lockfile').then(
    (module) => module.default,
    () => undefined,
  );
  if (!lockfile || !existsSync(join(ROOT, 'node_modules', '@nestjs', 'cli'))) {
    console.error('build: dependencies are not installed: run `npm install` first');
    process.exit(1);
  }
  const inputs = fingerprint();
  if (!force && currentStamp() === inputs) {
    if (!quiet) console.log('build: dist/ is up to date');
    return;
  }
  // A lock on the checkout (a directory beside package.json), so that two `npm start`s build once.
  let waited = false;
  const release = await lockfile.lock(ROOT, {
    lockfilePath: join(ROOT, '.build.lock'),
    stale: 30_000,
    retries: {
      retries: 600,
      minTimeout: 200,
      maxTimeout: 500,
      factor: 1,
      onRetry: () => {
        if (!waited) console.log('build: waiting for another build of this checkout to finish');
        waited = true;
      },
    },
    onCompromised: () => {},
  });
  try {
    const now = fingerprint();
    if (!force && currentStamp() === now) return;
    const id = `.build-${Date.now().toString(36)}-${process.pid}`;
    const out = join(ROOT, id);
    const status = nestBuild(id);
    if (status !== 0) {
      rmSync(out, { recursive: true, force: true });
      cleanupConfigs(id);
      process.exitCode = status ?? 1;
      return;
    }
    cleanupConfigs(id);
    writeFileSync(join(out, STAMP), now);
    switchDist(id);
    prune(id);
    if (!quiet) console.log(`build: dist/ -> ${id}`);
  } finally {
    await release();
  }
}

/** `nest build` with nest-cli.json and tsconfig.build.json as they are, but writing to `id/`. */
function nestBuild(id) {
  const nestConfig = JSON.parse(readFileSync(join(ROOT, 'nest-cli.json'), 'utf8'));
  for (const asset of nestConfig.compilerOptions?.assets ?? []) {
    if (typeof asset === 'object' && asset.outDir === 'dist') asset.outDir = id;
  }
  nestConfig.compilerOptions = { ...nestConfig.compilerOptions, tsConfigPath: `${id}.tsconfig.json`, deleteOutDir: true };
  writeFileSync(join(ROOT, `${id}.nest-cli.json`), JSON.stringify(nestConfig));
  writeFileSync(join(ROOT, `${id}.tsconfig.json`), JSON.stringify({ extends: './tsconfig.build.json', compilerOptions: { outDir: id } }));
  const nest = join(ROOT, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js');
  const result = spawnSync(process.execPath, [nest, 'build', '-c', `${id}.nest-cli.json`, '-p', `${id}.tsconfig.json`], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  return result.status;
}

function cleanupConfigs(id) {
  for (const file of [`${id}.nest-cli.json`, `${id}.tsconfig.json`]) rmSync(join(ROOT, file), { force: true });
}

/** dist -> id, in one rename(2). A real dist/ directory (an older layout) is moved aside first. */
function switchDist(id) {
  const isLink = (() => {
    try {
      return lstatSync(DIST).isSymbolicLink();
    } catch {
      return undefined;
    }
  })();
  if (isLink === false) renameSync(DIST, join(ROOT, `.build-0-legacy-${process.pid}`));
  const temporary = join(ROOT, `.dist-${process.pid}`);
  rmSync(temporary, { force: true });
  symlinkSync(id, temporary, 'dir');
  renameSync(temporary, DIST);
}

/** Keeps the newest KEEP builds (the one dist points to among them); a process started from an older one has loaded it long ago. */
function prune(current) {
  const builds = readdirSync(ROOT)
    .filter((name) => name.startsWith('.build-') && name !== current && lstatSync(join(ROOT, name)).isDirectory())
    .map((name) => ({ name, time: statSync(join(ROOT, name)).mtimeMs }))
    .sort((a, b) => b.time - a.time);
  for (const { name } of builds.slice(KEEP - 1)) rmSync(join(ROOT, name), { recursive: true, force: true });
}

main().catch((error) => {
  console.error(`build: ${String(error?.message ?? error).split('\n')[0]}`);
  process.exit(1);
});
