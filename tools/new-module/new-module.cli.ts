import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidModuleName, moduleNames } from './module-name.js';
import { moduleFiles } from './module-templates.js';
import { withWorkflow, workflowFiles } from './workflow-templates.js';

/**
 * `npm run new:module -- <name>`: scaffolds a module (contract with one
 * command and one query, their handlers, HTTP routes, a migration,
 * module.json, a README page and an end-to-end test) that builds, passes
 * `npm run verify` and starts in every topology as generated.
 * `--workflow`: its items each go through a workflow (the platform's saga
 * engine) whose effect updates the item in the module's own terms (ADR 35).
 * `--root <dir>`: another checkout (the generator's own test uses a copy).
 * Exit 0: written; 1: a bad or taken name; 2: bad usage. One line either way.
 */
const USAGE = 'usage: npm run new:module -- <name> [--workflow]   (lower-case letters, digits and _, e.g. loyalty)';

const HELP = `${USAGE}

Writes src/modules/<name>/ (a contract with one command and one query, their handlers, HTTP
routes, a migration, module.json, a README page) and test/e2e/<name>.e2e.spec.ts. The result
builds, passes \`npm run verify\` and starts in every topology as generated.
Exit 0: written; 1: a bad or taken name; 2: bad usage.

  --root <dir>   write into another checkout (the generator's own test uses a copy)`;

function fail(code: number, message: string): never {
  console.error(`new:module: ${message}`);
  process.exit(code);
}

function parse(argv: readonly string[]): { name: string; root: string; workflow: boolean } {
  let root = fileURLToPath(new URL('../../../', import.meta.url));
  let workflow = false;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') {
      console.log(HELP);
      process.exit(0);
    } else if (argv[i] === '--root') {
      const dir = argv[++i];
      if (!dir) fail(2, `--root needs a directory; ${USAGE}`);
      root = resolve(dir);
    } else if (argv[i] === '--workflow') workflow = true;
    else if (argv[i].startsWith('-')) fail(2, `unknown option ${argv[i]}; ${USAGE}`);
    else names.push(argv[i]);
  }
  if (names.length !== 1) fail(2, names.length === 0 ? USAGE : `one name at a time, got ${names.join(' ')}; ${USAGE}`);
  if (!existsSync(join(root, 'src', 'modules'))) fail(2, `no src/modules/ under ${root}: --root must be the repository root`);
  return { name: names[0], root, workflow };
}

const { name, root, workflow } = parse(process.argv.slice(2));
const modulesDir = join(root, 'src', 'modules');
const existing = readdirSync(modulesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const invalid = invalidModuleName(name, existing);
if (invalid) fail(1, invalid);

const timestamp = Date.now();
const plain = moduleFiles(moduleNames(name), timestamp);
const files = workflow ? withWorkflow(moduleNames(name), plain, workflowFiles(moduleNames(name), timestamp)) : plain;
const taken = files.find((file) => existsSync(join(root, file.path)));
if (taken) fail(1, `${taken.path} exists already: remove it, or choose another name`);
for (const file of files) {
  mkdirSync(dirname(join(root, file.path)), { recursive: true });
  writeFileSync(join(root, file.path), file.text, { flag: 'wx' });
}
console.log(`new:module: module '${name}' written:`);
for (const file of files) console.log(`  ${file.path}`);
console.log(
  `next: npm run verify -- --update-contracts (records its contract), then its test: test/e2e/${moduleNames(name).kebab}.e2e.spec.ts; say what it owns in src/modules/${name}/README.md`,
);
