import { authorize, SimulatedPaymentProvider } from './simulated-provider.js';

describe('simulated payment provider', () => {
  it('declines tok_declined and nothing else', () => {
    expect(authorize('tok_declined')).toBe('DECLINED');
    for (const token of ['tok_visa', 'tok_declined_not', 'tok_x', 'tok_declinedd']) {
      expect(authorize(token)).toBe('CAPTURED');
    }
  });
});

describe('simulated payment provider books', () => {
  it('captures once per key, refunds once, and a refund before a capture does not stop it (as a real provider)', async () => {
    const provider = new SimulatedPaymentProvider();
    await provider.refund('o1');
    expect(await provider.capture('o1', 500, 'tok_visa')).toBe('CAPTURED');
    expect(await provider.capture('o1', 500, 'tok_visa')).toBe('CAPTURED');
    expect(provider.held('o1')).toBe(500);
    await provider.refund('o1');
    await provider.refund('o1');
    expect(provider.held('o1')).toBe(0);
    expect(await provider.capture('o2', 500, 'tok_declined')).toBe('DECLINED');
    expect(provider.held('o2')).toBe(0);
  });
});
