import { relative } from 'node:path';
import { takeSkipRecords } from './skipped-suites.js';

/**
 * The last lines of a run: which suites were skipped and why, and how many tests did not run
 * (see skipped-suites.js), printed by global-teardown.js. Nothing when every test ran.
 */
export default class SkippedSuitesReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const records = takeSkipRecords();
    if (records.length === 0) return;
    const reasons = new Set(records.map((record) => record.reason));
    const byFile = new Map();
    for (const record of records) byFile.set(record.testPath, [...(byFile.get(record.testPath) ?? []), record.title]);
    let total = 0;
    const lines = [];
    for (const [testPath, titles] of byFile) {
      const file = results.testResults.find((result) => result.testFilePath === testPath);
      // The tests of the skipped blocks: pending, under one of the recorded titles.
      const count = (file?.testResults ?? []).filter(
        (test) => test.status === 'pending' && titles.some((title) => [...test.ancestorTitles, test.title].join(' ').includes(title)),
      ).length;
      total += count;
      lines.push(`!!!   ${relative(this.rootDir, testPath)}: ${count} (${[...new Set(titles)].join('; ')})`);
    }
    lines.unshift('', `!!! ${total} TESTS NOT RUN, in ${byFile.size} suites: ${[...reasons].join('; ')}`);
    // Printed by the global teardown, which runs after jest's own summary: the very last lines.
    globalThis.__skippedSuitesSummary = `${lines.join('\n')}\n`;
  }
}
