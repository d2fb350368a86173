import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EquivalenceRun } from './diff.js';
import { renderHtml } from './report-html.js';
import { renderMarkdown } from './report-markdown.js';
import { buildReport } from './report-model.js';
import type { CompareResults } from './results.js';

export interface WrittenReport {
  readonly directory: string;
  readonly html: string;
  readonly markdown: string;
  readonly json: string;
  readonly transcripts: readonly string[];
  /** The Markdown of the sections worth printing at the end of a run. */
  readonly terminalSummary: string;
}

/** Writes report.html, summary.md, results.json and each topology's normalised transcript + final state. */
export function writeReport(results: CompareResults, runs: ReadonlyMap<string, EquivalenceRun>, out: string | undefined): WrittenReport {
  const stamp = results.startedAt.replace(/\.\d+Z$/, '').replace(/:/g, '-');
  const directory = resolve(out ?? join('reports', `compare-${stamp}`));
  mkdirSync(directory, { recursive: true });
  const report = buildReport(results);
  const html = join(directory, 'report.html');
  const markdown = join(directory, 'summary.md');
  const json = join(directory, 'results.json');
  writeFileSync(html, renderHtml(report, results));
  writeFileSync(markdown, renderMarkdown(report, 'report.html'));
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  const transcripts: string[] = [];
  for (const [topology, run] of runs) {
    const file = join(directory, `transcript-${topology}.json`);
    writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
    transcripts.push(file);
  }
  const different = results.equivalence?.verdict === 'different';
  const printed = report.sections.filter(
    (s) => ['Verdict', 'Performance', 'Ratios'].includes(s.title) || s.title.startsWith('Faults') || (different && s.title === 'Equivalence'),
  );
  const terminalSummary = renderMarkdown({ title: report.title, intro: { title: '', blocks: [] }, sections: printed }, 'report.html')
    .split('\n')
    .filter((line) => !line.startsWith('Charts: '))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
  return { directory, html, markdown, json, transcripts, terminalSummary };
}
