import type { TranscriptEntry } from './scenario.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const ISO_TIMESTAMP = /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?/g;
const SITE_TOKEN = /<id@([^>]+)>/g;

/**
 * Makes runs of the scenario comparable: every ISO timestamp becomes `<ts>`
 * and every uuid `<idN>`, N its order of first appearance. An id is named by
 * the place where it first appeared (step and field), and the places of all
 * the runs compared are numbered together (`renumber`): so the k-th order
 * gets the same `<idN>` in every topology even when one topology showed an
 * id fewer before it (a payment that was never made), and a difference does
 * not cascade into every later id. Object keys are walked in sorted order.
 */
export class Normaliser {
  private readonly ids = new Map<string, string>();

  /** The id's site token, fixed the first time the id is seen (at `site`: "7 body.orderId"). */
  token(id: string, site: string): string {
    const key = id.toLowerCase();
    let token = this.ids.get(key);
    if (!token) {
      token = `<id@${site}>`;
      this.ids.set(key, token);
    }
    return token;
  }

  string(text: string, site: string): string {
    let k = 0;
    return text.replace(UUID, (id) => this.token(id, k++ === 0 ? site : `${site}#${k}`)).replace(ISO_TIMESTAMP, '<ts>');
  }

  value(value: unknown, site: string): unknown {
    if (typeof value === 'string') return this.string(value, site);
    if (value instanceof Date) return '<ts>';
    if (Array.isArray(value)) return value.map((item, i) => this.value(item, `${site}[${i}]`));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const key of sortedKeys(value)) {
        const name = this.string(key, `${site}{key}`);
        out[name] = this.value((value as Record<string, unknown>)[key], `${site}.${key}`);
      }
      return out;
    }
    return value;
  }
}

export function sortedKeys(value: object): string[] {
  return Object.keys(value).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

export interface NormalisedEntry {
  readonly n: number;
  readonly label: string;
  readonly request: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** The transcript with ids (as site tokens, until `renumber`) and timestamps replaced. */
export function normaliseTranscript(entries: readonly TranscriptEntry[], normaliser: Normaliser): NormalisedEntry[] {
  const site = (n: number, part: string) => `${String(n).padStart(4, '0')} ${part}`;
  return entries.map((entry) => ({
    n: entry.n,
    label: entry.label,
    request: normaliser.string(entry.request, site(entry.n, 'request')),
    status: entry.seen.status,
    headers: normaliser.value(entry.seen.headers, site(entry.n, 'headers')) as Record<string, string>,
    body: normaliser.value(entry.seen.body, site(entry.n, 'body')),
  }));
}

/**
 * Replaces the site tokens of several runs by `<id1>`, `<id2>`, ... numbered
 * over the sites of all of them, in the order of the scenario (then of the
 * final state): the same site gets the same number in every run.
 */
export function renumber<T>(runs: readonly T[]): T[] {
  const texts = runs.map((run) => JSON.stringify(run));
  const sites = new Set<string>();
  for (const text of texts) for (const match of text.matchAll(SITE_TOKEN)) sites.add(match[1]);
  const ordered = [...sites].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const number = new Map(ordered.map((site, i) => [site, `<id${i + 1}>`]));
  return texts.map((text) => JSON.parse(text.replace(SITE_TOKEN, (_, site: string) => number.get(site)!)) as T);
}
