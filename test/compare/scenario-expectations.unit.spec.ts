import { unmetExpectations, type TranscriptEntry } from '../../tools/compare/scenario.js';

/**
 * The compare finds where topologies differ; unmetExpectations finds what they all got wrong alike.
 * The hosts run once signed the carrier's events with a secret the store did not share: every
 * topology answered 401 and never settled its deliveries, identically, so no difference showed.
 */
describe('unmetExpectations: what a transcript says went wrong on its own', () => {
  const step = (n: number, label: string, status: number, body: unknown = null, request = 'POST /x'): TranscriptEntry => ({
    n,
    label,
    request,
    seen: { status, headers: {}, body },
  });

  it('holds a step whose label names another status than it got', () => {
    expect(
      unmetExpectations([
        step(1, 'delivery: the carrier says DELIVERED (204)', 401),
        step(2, 'delivery: a late RETURNED (204, changes nothing)', 204),
        step(3, 'delivery: cancel a DELIVERED order (409)', 202),
        step(4, 'bad input: notifications of an unknown customer ([])', 200),
        step(5, 'setup: create the plentiful product', 201),
      ]),
    ).toEqual(['#1 delivery: the carrier says DELIVERED (204): answered 401', '#3 delivery: cancel a DELIVERED order (409): answered 202']);
  });

  it('holds an order that did not settle, with why', () => {
    const wait = (n: number, body: unknown) => step(n, 'delivery: delivered: wait until settled', 0, body, '(wait until order 1 settles)');
    expect(unmetExpectations([wait(1, { settled: true }), wait(2, { settled: false, why: 'not settled within 60000 ms (last: order CONFIRMED)' })])).toEqual([
      '#2 delivery: delivered: wait until settled: not settled within 60000 ms (last: order CONFIRMED)',
    ]);
  });
});
