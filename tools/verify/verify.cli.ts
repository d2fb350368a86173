import { UsageError } from './usage-error.js';
import { runVerify } from './verify-command.js';

/** `npm run verify` (see verify-command.ts): exit 0 ok, 1 violations or a failure of the checker itself, 2 bad usage; one line on stderr. */
runVerify(process.argv.slice(2), (text) => console.log(text)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`verify: ${error.message}`);
      process.exit(2);
    }
    console.error(`verify: ${((error as Error)?.message ?? String(error)).split('\n')[0]}`);
    process.exit(1);
  },
);
