/**
 * One process for many runs of `npm run verify` (test/support/verify-runner.ts): the command the
 * CLI runs (dist/tools/verify/verify-command.js), loaded once, so TypeScript and
 * dependency-cruiser load once per suite rather than once per planted tree. Each run still gets a
 * fresh contract worker thread. Plain JavaScript: node runs it as it is, beside jest.
 */
import { pathToFileURL } from 'node:url';

const [commandFile] = process.argv.slice(2);
const { runVerify } = await import(pathToFileURL(commandFile).href);
const { UsageError } = await import(pathToFileURL(commandFile.replace(/verify-command\.js$/, 'usage-error.js')).href);

let queue = Promise.resolve();
process.on('message', ({ id, argv }) => {
  queue = queue.then(async () => {
    const printed = [];
    let status;
    let stderr = '';
    try {
      status = await runVerify(argv, (text) => printed.push(`${text}\n`), performance.now());
    } catch (error) {
      // As the CLI answers (verify.cli.ts): 2 with one line for bad usage, 1 for anything else.
      status = error instanceof UsageError ? 2 : 1;
      stderr = `verify: ${String(error?.message ?? error).split('\n')[0]}\n`;
    }
    process.send({ id, status, stdout: printed.join(''), stderr });
  });
});
process.send({ ready: true });
