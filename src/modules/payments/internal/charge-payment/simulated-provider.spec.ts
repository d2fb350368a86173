import { authorize } from './simulated-provider.js';

describe('simulated payment provider', () => {
  it('declines tok_declined and nothing else', () => {
    expect(authorize('tok_declined')).toBe('DECLINED');
    for (const token of ['tok_visa', 'tok_declined_not', 'tok_x', 'tok_declinedd']) {
      expect(authorize(token)).toBe('CAPTURED');
    }
  });
});
