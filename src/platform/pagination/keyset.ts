import { createHash } from 'node:crypto';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { ModuleError } from '../contracts/module.error.js';
import { PAGE_LIMIT, type Page, type PageQuery } from '../contracts/page.query.js';

/**
 * The kinds of column a list's sort key is made of. A timestamp travels as
 * its microseconds since the epoch (a JavaScript Date would cut them to
 * milliseconds, and two rows of one millisecond would be skipped or repeated).
 */
export type KeyPart = 'bigint' | 'uuid' | 'timestamp';

/** One column of a sort key, as the list's query builder names it (`created_at`). */
export interface KeyColumn {
  readonly column: string;
  readonly part: KeyPart;
}

const isBigint = (value: unknown) =>
  typeof value === 'string' && /^-?(0|[1-9][0-9]{0,18})$/.test(value) && BigInt(value) <= 2n ** 63n - 1n && BigInt(value) >= -(2n ** 63n);

/** Each part of a cursor's key is checked like any input: a forged one is refused, never cast by Postgres. */
const FORMATS: Readonly<Record<KeyPart, (value: unknown) => boolean>> = {
  // As text: JSON numbers lose precision above 2^53.
  bigint: isBigint,
  timestamp: isBigint,
  uuid: (value) => typeof value === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value),
};

/** The key's value of a row, as text (read alongside the row). */
const SELECTED: Readonly<Record<KeyPart, (column: string) => string>> = {
  bigint: (column) => `${column}::text`,
  uuid: (column) => `${column}::text`,
  timestamp: (column) => `(extract(epoch FROM ${column}) * 1000000)::bigint::text`,
};

/** A key's value from a cursor, as the column's type (a parameter, never text in the SQL). */
const PARAMETER: Readonly<Record<KeyPart, (name: string) => string>> = {
  bigint: (name) => `CAST(:${name} AS bigint)`,
  uuid: (name) => `CAST(:${name} AS uuid)`,
  timestamp: (name) => `timestamptz 'epoch' + CAST(:${name} AS bigint) * interval '1 microsecond'`,
};

/** Where a page starts: how many items at most, and the sort key it continues after (none: the first page). */
export interface PageRequest {
  readonly limit: number;
  readonly after: readonly string[] | undefined;
  /** Rows to read: one more than the limit, so that a page knows whether another follows without counting. */
  readonly fetch: number;
}

/**
 * Keyset pagination of one list (ADR 23): a page is the first `limit` rows
 * whose sort key (unique, e.g. a bigserial, or created_at with the id) comes
 * after the cursor's, so a row inserted between two pages never shifts the
 * next one, and each row is read once however the list grows. The cursor is
 * opaque to clients: base64url of the key of the page's last row and a digest
 * of the list's filter, so a cursor of one customer's list is no place in
 * another's. A cursor this list did not make is INVALID (400), before any query.
 */
export class Keyset {
  constructor(
    private readonly module: string,
    private readonly key: readonly KeyColumn[],
  ) {}

  private get parts(): KeyPart[] {
    return this.key.map((column) => column.part);
  }

  /**
   * Reads the page `request` asks for from `builder` (the list's rows, filtered, not ordered
   * nor limited): in key order, after the cursor's key, one row more than the limit.
   */
  async read<E extends ObjectLiteral, T>(builder: SelectQueryBuilder<E>, request: PageRequest, filter: unknown, view: (row: E) => T): Promise<Page<T>> {
    const columns = this.key.map(({ column }) => `${builder.alias}.${column}`);
    this.key.forEach(({ part }, i) => builder.addSelect(SELECTED[part](columns[i]), `keyset_${i}`));
    if (request.after !== undefined) {
      const after = request.after;
      // A row comparison: one index range scan on (filter, key), whatever the number of key columns.
      builder.andWhere(
        `(${columns.join(', ')}) > (${this.key.map(({ part }, i) => PARAMETER[part](`keyset_${i}`)).join(', ')})`,
        Object.fromEntries(after.map((value, i) => [`keyset_${i}`, value])),
      );
    }
    columns.forEach((column, i) => (i === 0 ? builder.orderBy(column, 'ASC') : builder.addOrderBy(column, 'ASC')));
    const { entities, raw } = await builder.limit(request.fetch).getRawAndEntities();
    const keys = new Map(entities.map((entity, i) => [entity, this.key.map((_, n) => String((raw[i] as Record<string, unknown>)[`keyset_${n}`]))]));
    return this.page(request, filter, entities, (entity) => keys.get(entity)!, view);
  }

  /** The page `query` asks for, of the list `filter` selects (the query's other fields). */
  request(query: PageQuery, filter: unknown): PageRequest {
    const limit = query.limit ?? PAGE_LIMIT.default;
    return { limit, fetch: limit + 1, after: query.after === undefined ? undefined : this.decode(query.after, filter) };
  }

  /** The page of `rows` (read with `request.fetch`, in key order): at most `limit` views, and the next page's cursor if more came. */
  page<R, T>(request: PageRequest, filter: unknown, rows: readonly R[], keyOf: (row: R) => readonly string[], view: (row: R) => T): Page<T> {
    const items = rows.slice(0, request.limit);
    const more = rows.length > request.limit && items.length > 0;
    return { items: items.map(view), next: more ? this.encode(keyOf(items[items.length - 1]), filter) : null };
  }

  private encode(key: readonly string[], filter: unknown): string {
    return Buffer.from(JSON.stringify({ q: digest(filter), k: key })).toString('base64url');
  }

  private decode(after: string, filter: unknown): readonly string[] {
    const bytes = Buffer.from(after, 'base64url');
    // Node's decoder skips what is not base64url: only a cursor that re-encodes to itself is one it made.
    if (bytes.toString('base64url') !== after) throw this.invalid('is not a cursor given by this list');
    let cursor: unknown;
    try {
      cursor = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw this.invalid('is not a cursor given by this list');
    }
    const { q, k } = (cursor !== null && typeof cursor === 'object' ? cursor : {}) as { q?: unknown; k?: unknown };
    if (!Array.isArray(k) || k.length !== this.parts.length || !k.every((value, i) => FORMATS[this.parts[i]](value))) {
      throw this.invalid('is not a cursor given by this list');
    }
    if (q !== digest(filter)) throw this.invalid('is a cursor of another list (the other parameters must stay as the Link gave them)');
    return k as string[];
  }

  private invalid(message: string): ModuleError {
    return new ModuleError('INVALID', `after ${message}`, this.module, [{ field: 'after', message }]);
  }
}

/** A short digest of a list's filter: enough to tell lists apart, not a secret (the filter is the client's own). */
function digest(filter: unknown): string {
  return createHash('sha256').update(JSON.stringify(filter)).digest('base64url').slice(0, 16);
}
