/**
 * What every operator CLI agrees on (docs/development.md, "The CLIs"): `--help` prints the usage
 * and exits 0; bad usage exits 2 and a failure 1, each with one line on stderr and never a stack
 * trace; success exits 0.
 */

/** Bad usage: an unknown command or option, a missing or malformed argument. Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** True when the arguments ask for help (`--help` or `-h` anywhere). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * Runs a CLI's main with the process's arguments. What it returns is the exit code (0 when
 * nothing); the process then ends on its own, once what main opened is closed, so nothing
 * printed is cut off.
 */
export function runCli(name: string, main: (argv: readonly string[]) => Promise<number | void>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (error: unknown) => {
      console.error(`${name}: ${((error as Error)?.message ?? String(error)).split('\n')[0]}`);
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  );
}
