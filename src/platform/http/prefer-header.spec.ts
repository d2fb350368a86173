import fc from 'fast-check';
import { preferences, preferredWait } from './prefer-header.js';

describe('Prefer (RFC 7240)', () => {
  it('reads preferences by lower-cased name, the first of a name, values unquoted, parameters dropped', () => {
    expect([...preferences('respond-async, WAIT=10;foo=bar, wait=3, handling="strict, or;not"')]).toEqual([
      ['respond-async', undefined],
      ['wait', '10'],
      ['handling', 'strict, or;not'],
    ]);
    expect(preferences(undefined).size).toBe(0);
    expect(preferences(' , ;, =5').size).toBe(0);
  });

  it('honours wait only as an integer within 1..max, quoted or not', () => {
    expect(preferredWait('wait=1', 30)).toBe(1);
    expect(preferredWait('respond-async, wait="30"', 30)).toBe(30);
    for (const ignored of [undefined, '', 'wait', 'wait=', 'wait=0', 'wait=31', 'wait=-1', 'wait=1.5', 'wait=1e1', 'wait=abc', 'wait= 5x', 'respond-async']) {
      expect({ ignored, wait: preferredWait(ignored, 30) }).toEqual({ ignored, wait: undefined });
    }
  });

  it('never throws, and answers only integers within bounds, whatever the header', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (header) => {
        const wait = preferredWait(header, 30);
        return wait === undefined || (Number.isInteger(wait) && wait >= 1 && wait <= 30);
      }),
      { numRuns: 2_000 },
    );
  });
});
