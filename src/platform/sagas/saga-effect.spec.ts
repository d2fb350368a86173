import { defineSaga, type SagaEffect, type Transition } from './saga-definition.js';
import { composeEffect, namedParameters } from './saga-effect.js';

const transition = (extra: Partial<Transition> = {}): Transition => ({ next: 'B', failureReason: null, log: [], output: {}, ...extra });

describe("a saga effect in the module's own terms (ADR 35)", () => {
  it('finds :names, not casts, quoted text, quoted identifiers, comments or dollar-quoted bodies', () => {
    const sql = `a = coalesce(:paymentId::uuid, a), b = ':notOne', "c:d" = :c, e = $$ :no $$ -- :none\n, f = /* :nor */ :f, g = x[1:2], h = :paymentId`;
    expect(namedParameters(sql).map((found) => found.name)).toEqual(['paymentId', 'c', 'f', 'paymentId']);
  });

  it("composes an update of its own table: the schema, the key and the guard are the platform's, each name a number once", () => {
    const effect: SagaEffect<unknown> = {
      update: { table: 'orders', set: 'status = coalesce(:status, status), note = :note || :status', where: 'id = :key::uuid' },
      params: (t) => ({ status: t.outcome ? 'DONE' : null, note: 'n' }),
    };
    const composed = composeEffect('s', effect, 'orders', 11, 'moved');
    expect(composed.sql).toBe(
      'UPDATE "orders"."orders" SET status = coalesce($11, status), note = $12 || $11 WHERE (id = $2::uuid) AND EXISTS (SELECT 1 FROM moved)',
    );
    expect(composed.count).toBe(2);
    expect(composed.values(transition({ outcome: { status: 'COMPLETED' } }))).toEqual(['DONE', 'n']);
  });

  it('composes an insert (an upsert with onConflict), run only when the transition is written', () => {
    const composed = composeEffect(
      's',
      {
        insert: { into: 'outcomes', columns: 'id, outcome', values: ':key, :outcome', onConflict: '(id) DO NOTHING' },
        params: () => ({ outcome: undefined }),
      },
      'waiter',
      14,
      'moved',
    );
    expect(composed.sql).toBe('INSERT INTO "waiter"."outcomes" (id, outcome) SELECT $2, $14 WHERE EXISTS (SELECT 1 FROM moved) ON CONFLICT (id) DO NOTHING');
    // undefined is SQL's NULL.
    expect(composed.values(transition())).toEqual([null]);
  });

  it('leaves the statement out of transitions its `when` says change nothing', () => {
    const composed = composeEffect('s', { when: (t) => t.outcome !== undefined, update: { table: 't', set: 'x = 1', where: 'id = :key' } }, 'm', 11, 'moved');
    expect(composed.applies(transition())).toBe(false);
    expect(composed.applies(transition({ outcome: { status: 'COMPLETED' } }))).toBe(true);
    expect(composeEffect('s', { events: () => [] }, 'm', 11, 'moved').applies(transition())).toBe(false);
  });

  it('refuses, when the saga is defined, a table of another schema, two statements, or names without values', () => {
    const define = (effect: SagaEffect<unknown>) => () =>
      defineSaga<unknown>({
        name: 'planted',
        version: 1,
        stepTimeoutMs: 1,
        retry: { initialDelayMs: 1, maxDelayMs: 1 },
        stuckAfterAttempts: 1,
        load: async () => new Map(),
        steps: [{ name: 'A', run: async () => {} }],
        effect,
      });
    expect(define({ update: { table: 'payments.payments', set: 'x = 1', where: 'id = :key' } })).toThrow(
      "saga 'planted': its effect names table 'payments.payments': name one of the module's own tables, unqualified",
    );
    expect(define({ update: { table: '"payments"."payments"', set: 'x = 1', where: 'id = :key' } })).toThrow(/names table/);
    expect(define({ update: { table: 't', set: 'x = 1', where: 'id = :key' }, insert: { into: 't', columns: 'x', values: '1' } })).toThrow(/not both/);
    expect(define({ update: { table: 't', set: 'x = :x', where: 'id = :key' } })).toThrow('takes :x but has no params');
    expect(define({ update: { table: 't', set: 'x = 1', where: '' } })).toThrow(/no set or no where/);
    // The form before ADR 35: refused, not run as an effect that changes nothing.
    expect(define({ sql: 'UPDATE t SET x = $11 WHERE id = $2 AND EXISTS (SELECT 1 FROM moved)', params: () => [1] } as never)).toThrow(
      /raw `sql` in the engine's terms/,
    );
  });

  it('refuses params that miss a name, give one the statement does not take, or give :key', () => {
    const effect = (params: () => Record<string, unknown>) =>
      composeEffect('s', { update: { table: 't', set: 'x = :x', where: 'id = :key' }, params }, 'm', 11, 'moved');
    expect(() => effect(() => ({})).values(transition())).toThrow("saga 's': its effect gives no value to :x");
    expect(() => effect(() => ({ x: 1, y: 2 })).values(transition())).toThrow('gives :y, which its statement does not take');
    expect(() => effect(() => ({ x: 1, key: 'k' })).values(transition())).toThrow("gives ':key' a value");
  });
});
