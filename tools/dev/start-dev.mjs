#!/usr/bin/env node
/**
 * `npm run start:dev`: the store from the sources, recompiled and restarted on every change.
 *
 * Nest's watch mode (tsc in watch mode: an edit recompiles only what it touches, then the process
 * is restarted), with the project's own nest-cli.json, but writing to `.dev/` rather than `dist/`:
 * `npm start`, the tests and the processes of other terminals run from `dist/`, which only
 * build.mjs changes, and only whole (one rename). Arguments after `--` go to nest
 * (`npm run start:dev -- --debug` for the inspector).
 *
 * Plain JavaScript, not compiled: it has to run before there is a build.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = '.dev';
const NEST = join(ROOT, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js');

if (!existsSync(NEST)) {
  console.error('start:dev: dependencies are not installed: run `npm install` first');
  process.exit(1);
}

const nestConfig = JSON.parse(readFileSync(join(ROOT, 'nest-cli.json'), 'utf8'));
for (const asset of nestConfig.compilerOptions?.assets ?? []) {
  if (typeof asset === 'object' && asset.outDir === 'dist') asset.outDir = OUT;
}
nestConfig.compilerOptions = { ...nestConfig.compilerOptions, tsConfigPath: `${OUT}.tsconfig.json`, deleteOutDir: false };
const configs = [`${OUT}.nest-cli.json`, `${OUT}.tsconfig.json`];
writeFileSync(join(ROOT, configs[0]), JSON.stringify(nestConfig));
writeFileSync(join(ROOT, configs[1]), JSON.stringify({ extends: './tsconfig.build.json', compilerOptions: { outDir: OUT } }));

const child = spawn(process.execPath, [NEST, 'start', '--watch', '--preserveWatchOutput', '-c', configs[0], '-p', configs[1], ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
});
// Ctrl-C reaches nest and the store through the terminal; a SIGTERM to npm is passed on here.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.once('exit', (code, signal) => {
  for (const file of configs) rmSync(join(ROOT, file), { force: true });
  process.exit(code ?? (signal ? 1 : 0));
});
