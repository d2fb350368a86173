import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every relative link of README.md and docs/**\/*.md resolves inside the repository, and every
 * anchor (`#section`, `file.md#section`) names a heading of its page, as GitHub spells them.
 * External links (http:, https:, mailto:) are not followed: this runs offline.
 *
 * docs/api.md and docs/topology.md are byte copies of the shared spec, whose files are
 * store-api.md and topology.md side by side: their references to `store-api.md` mean docs/api.md.
 * Nowhere else: the repository's own pages link docs/api.md.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SPEC_COPIES: Record<string, Record<string, string>> = {
  'docs/api.md': { 'store-api.md': 'docs/api.md' },
  'docs/topology.md': { 'store-api.md': 'docs/api.md' },
};

/** The text with fenced code blocks and inline code blanked out (links there are examples, not links). */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '))
    .replace(/(`+)[^`\n][\s\S]*?\1/g, (code) => code.replace(/[^\n]/g, ' '));
}

/** The link targets of a page: inline links and images, reference definitions, HTML href/src. */
export function linksOf(markdown: string): string[] {
  const text = prose(markdown);
  const targets: string[] = [];
  for (const match of text.matchAll(/!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]);
  for (const match of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) targets.push(match[1]);
  for (const match of text.matchAll(/\b(?:href|src)="([^"]+)"/g)) targets.push(match[1]);
  return targets;
}

/** GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to hyphens, repeats -1, -2. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of prose(markdown).matchAll(/^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = match[1]
      .replace(/!?\[((?:[^\][]|\[[^\]]*\])*)\]\([^)]*\)/g, '$1') // a link: its text
      .replace(/<[^>]+>/g, ''); // inline HTML
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const match of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(match[1]);
  return anchors;
}

/** What is wrong with one link of `page` (a path relative to the repository), or undefined. */
export function brokenLink(page: string, target: string, read: (path: string) => string | undefined = readPage): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // http:, https:, mailto:
  const [rawPath, anchor] = target.split('#', 2) as [string, string | undefined];
  const path = decodeURIComponent(rawPath);
  let file: string;
  if (path === '') file = page;
  else if (path.startsWith('/')) file = path.slice(1);
  else file = SPEC_COPIES[page]?.[path] ?? relative(ROOT, resolve(ROOT, dirname(page), path));
  if (file.startsWith('..')) return `${target}: outside the repository`;
  if (file !== page && !existsSync(join(ROOT, file))) return `${target}: no such file (${file})`;
  if (anchor === undefined || anchor === '' || !file.endsWith('.md') || (file !== page && statSync(join(ROOT, file)).isDirectory())) return undefined;
  const text = read(file);
  if (text === undefined || !anchorsOf(text).has(decodeURIComponent(anchor))) return `${target}: no heading #${anchor} in ${file}`;
  return undefined;
}

/**
 * A newcomer reading "store-api.md" finds no such file: outside the spec's copies, a mention of it
 * is a link (to docs/api.md, which the checks above resolve). Mentions in code are left alone.
 */
export function unlinkedSpecMentions(page: string, markdown: string): string[] {
  if (page in SPEC_COPIES) return [];
  const withoutLinks = prose(markdown).replace(/!?\[(?:[^\][]|\[[^\]]*\])*\]\([^)]*\)/g, '');
  return [...withoutLinks.matchAll(/store-api\.md/g)].map(
    (match) => `line ${withoutLinks.slice(0, match.index).split('\n').length}: store-api.md is docs/api.md in this repository: link it`,
  );
}

function readPage(path: string): string | undefined {
  try {
    return readFileSync(join(ROOT, path), 'utf8');
  } catch {
    return undefined;
  }
}

function pages(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
  return ['README.md', ...docs.sort()];
}

describe('links in README.md and docs/', () => {
  it('the checker finds what is broken (and passes what is not)', () => {
    const page = [
      '# Title',
      '## A *second* heading (ADR 7)',
      '## Title',
      '[ok](#a-second-heading-adr-7) [dup](#title-1)',
      '[bad](#nowhere) [gone](docs/nothing.md) [ext](https://example.com/x) `[code](nope.md)`',
      '```',
      '[fenced](nope.md)',
      '```',
      '[ref]: docs/platform.md#nope',
    ].join('\n');
    const read = (path: string) => (path === 'sample.md' ? page : readPage(path));
    const broken = linksOf(page)
      .map((target) => brokenLink('sample.md', target, read))
      .filter(Boolean);
    expect(broken).toEqual([
      '#nowhere: no heading #nowhere in sample.md',
      'docs/nothing.md: no such file (docs/nothing.md)',
      expect.stringMatching(/^docs\/platform\.md#nope: no heading #nope in docs\/platform\.md$/),
    ]);
    // store-api.md is docs/api.md for the spec's copies only.
    expect(brokenLink('docs/topology.md', 'store-api.md')).toBeUndefined();
    expect(brokenLink('README.md', 'store-api.md')).toMatch(/no such file/);
    expect(unlinkedSpecMentions('README.md', 'as store-api.md says; [store-api.md](docs/api.md); `store-api.md`')).toEqual([
      'line 1: store-api.md is docs/api.md in this repository: link it',
    ]);
    expect(unlinkedSpecMentions('docs/topology.md', 'as store-api.md says')).toEqual([]);
  });

  it.each(pages())('%s: every relative link and anchor resolves', (page) => {
    const broken = linksOf(readFileSync(join(ROOT, page), 'utf8'))
      .map((target) => brokenLink(page, target))
      .filter((problem): problem is string => problem !== undefined);
    expect(broken).toEqual([]);
  });

  it.each(pages())('%s: names the API contract by a link that resolves', (page) => {
    expect(unlinkedSpecMentions(page, readFileSync(join(ROOT, page), 'utf8'))).toEqual([]);
  });
});
