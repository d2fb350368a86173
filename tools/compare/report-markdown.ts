import type { Block, Section } from './report-model.js';

/** summary.md: the report's sections as GitHub-flavoured Markdown (charts are in the HTML only). */
export function renderMarkdown(report: { title: string; intro: Section; sections: readonly Section[] }, htmlName: string): string {
  const out: string[] = [`# ${report.title}`, ''];
  for (const block of report.intro.blocks) out.push(...renderBlock(block), '');
  out.push(`Charts: [${htmlName}](${htmlName}). Data: [results.json](results.json).`, '');
  for (const section of report.sections) {
    out.push(`## ${section.title}`, '');
    for (const block of section.blocks) {
      const lines = renderBlock(block);
      if (lines.length) out.push(...lines, '');
    }
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

function renderBlock(block: Block): string[] {
  switch (block.kind) {
    case 'p':
      return [block.text];
    case 'list':
      return block.items.map((item) => `- ${item}`);
    case 'table': {
      const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
      return [
        `| ${block.headers.map(cell).join(' | ')} |`,
        `| ${block.headers.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
        ...block.rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
      ];
    }
    case 'chart':
      return [];
  }
}
