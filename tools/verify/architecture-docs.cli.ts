import 'reflect-metadata';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED, renderArchitecture } from './architecture-docs.js';
import { architectureModel } from './architecture-model.js';

const USAGE = 'usage: npm run docs:architecture -- [--root <built tree, default dist/>] [--out <dir, default docs/architecture>]';

/** dist/tools/verify/ → dist/ (the compiled modules are loaded, as the platform loads them) and the repository. */
const DIST = fileURLToPath(new URL('../../', import.meta.url));
const REPO = resolve(DIST, '..');

function parseArgs(argv: readonly string[]): { root: string; out: string } {
  const options = { root: DIST, out: join(REPO, 'docs', 'architecture') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--help' || arg === '-h') {
      console.log(
        `${USAGE}\n\nWrites docs/architecture/: the module map (synchronous calls solid, event flows dashed) and a page per module,\nfrom the built modules' contracts, subscriptions and migrations. Exit 0: written; 2: bad usage or no build.`,
      );
      process.exit(0);
    }
    if ((arg === '--root' || arg === '--out') && value && !value.startsWith('--')) {
      options[arg === '--root' ? 'root' : 'out'] = resolve(value);
      i++;
    } else {
      console.error(`docs:architecture: unexpected '${arg}' (${USAGE})`);
      process.exit(2);
    }
  }
  if (!existsSync(join(options.root, 'src', 'modules'))) {
    console.error(`docs:architecture: no src/modules/ under ${options.root}: build first (npm run build), or give --root the built tree`);
    process.exit(2);
  }
  return options;
}

const { root, out } = parseArgs(process.argv.slice(2));
const files = renderArchitecture(await architectureModel(root));
mkdirSync(out, { recursive: true });
// Pages of modules that no longer exist go; hand-written files (no marker) stay.
for (const file of readdirSync(out)) {
  if (file.endsWith('.md') && !files.has(file) && readFileSync(join(out, file), 'utf8').startsWith(GENERATED)) rmSync(join(out, file));
}
for (const [file, text] of files) writeFileSync(join(out, file), text);
console.log(`docs:architecture: wrote ${files.size} files to ${relative(process.cwd(), out) || '.'}`);
// Loading the modules loaded Nest, TypeORM and friends; nothing of theirs must keep the process alive.
process.exit(0);
