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

  /** The id's site token if it was seen before, without fixing one. */
  known(id: string): string | undefined {
    return this.ids.get(id.toLowerCase());
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
    body: normaliser.value(acrossOrders(entry, normaliser), site(entry.n, 'body')),
  }));
}

/**
 * A customer's notifications in an order every topology gives alike. Events of one order keep their
 * order (the platform's promise is per aggregate), but those of two orders that ended close together
 * may be recorded either way round once they cross processes (seen with 0.5 ms links between hosts):
 * the list is compared by order (its first appearance in the scenario), then as recorded.
 */
function acrossOrders(entry: TranscriptEntry, normaliser: Normaliser): unknown {
  const body = entry.seen.body;
  if (!entry.request.startsWith('GET /notifications') || !Array.isArray(body)) return body;
  const order = (item: unknown) => {
    const id = (item as { orderId?: unknown } | null)?.orderId;
    return typeof id === 'string' ? (normaliser.known(id) ?? id) : '';
  };
  return body
    .map((item: unknown, i) => ({ item, i, key: order(item) }))
    .sort((a, b) => a.key.localeCompare(b.key, 'en', { numeric: true }) || a.i - b.i)
    .map(({ item }) => item);
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
