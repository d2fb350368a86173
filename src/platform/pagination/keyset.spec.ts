import { ModuleError } from '../contracts/module.error.js';
import { Keyset } from './keyset.js';

const byCreation = new Keyset('things', [
  { column: 'created_at', part: 'timestamp' },
  { column: 'id', part: 'uuid' },
]);
const ID = '0b6f3a52-9f0e-4c36-8a57-0a1f7f1d2c11';
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ at: String(1_765_000_000_000_000 + i), id: ID, name: `row ${i}` }));
const keyOf = (row: { at: string; id: string }) => [row.at, row.id];
const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof ModuleError ? { code: error.code, fields: error.errors?.map((e) => e.field) } : error;
  }
  return 'accepted';
};

describe('Keyset', () => {
  it('bounds a page to limit (100 by default), with a cursor only when more rows came', () => {
    const first = byCreation.request({}, { orderId: 'o' });
    expect(first).toEqual({ limit: 100, fetch: 101, after: undefined });
    expect(byCreation.page(first, { orderId: 'o' }, rows(100), keyOf, (row) => row.name)).toEqual({ items: rows(100).map((r) => r.name), next: null });
    const small = byCreation.request({ limit: 2 }, { orderId: 'o' });
    const page = byCreation.page(small, { orderId: 'o' }, rows(3), keyOf, (row) => row.name);
    expect(page.items).toEqual(['row 0', 'row 1']);
    expect(page.next).toMatch(/^[A-Za-z0-9_-]+$/);
    // The cursor gives back the key of the page's last row, for the same list.
    expect(byCreation.request({ limit: 2, after: page.next! }, { orderId: 'o' }).after).toEqual(keyOf(rows(3)[1]));
  });

  it('refuses a cursor it did not make, or of another list, as INVALID naming after', () => {
    const next = byCreation.page(byCreation.request({ limit: 1 }, { orderId: 'o' }), { orderId: 'o' }, rows(2), keyOf, (row) => row).next!;
    const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const decoded = JSON.parse(Buffer.from(next, 'base64url').toString()) as { q: string; k: string[] };
    for (const after of [
      'AAAA',
      `${next}A`,
      next.slice(1),
      forge(null),
      forge([]),
      forge({ q: decoded.q }),
      forge({ q: decoded.q, k: [decoded.k[0]] }),
      forge({ q: decoded.q, k: [decoded.k[0], 'not-a-uuid'] }),
      forge({ q: decoded.q, k: ['1.5', ID] }),
      forge({ q: decoded.q, k: [1, ID] }),
      forge({ q: decoded.q, k: ['9223372036854775808', ID] }),
    ]) {
      expect({ after, refusal: refusal(() => byCreation.request({ after }, { orderId: 'o' })) }).toEqual({
        after,
        refusal: { code: 'INVALID', fields: ['after'] },
      });
    }
    expect(refusal(() => byCreation.request({ after: next }, { orderId: 'another' }))).toEqual({ code: 'INVALID', fields: ['after'] });
    expect(refusal(() => byCreation.request({ after: next, limit: 50 }, { orderId: 'o' }))).toBe('accepted');
  });
});
