export default async function globalTeardown() {
  await globalThis.__embeddedPostgres?.stop();
  // What did not run (skipped-suites.reporter.js), after jest's summary: the last thing a user sees.
  if (globalThis.__skippedSuitesSummary) process.stderr.write(globalThis.__skippedSuitesSummary);
}
