import { requestFingerprint } from './request-fingerprint.js';

const request = {
  customerId: 'c',
  items: [{ sku: 'A', quantity: 1 }],
  paymentToken: 'tok_visa',
  shippingAddress: { name: 'n', line1: 'l', city: 'c', postalCode: 'p', country: 'NO' },
};

describe('requestFingerprint', () => {
  it('ignores key order', () => {
    const reordered = {
      shippingAddress: { country: 'NO', postalCode: 'p', city: 'c', line1: 'l', name: 'n' },
      paymentToken: 'tok_visa',
      items: [{ quantity: 1, sku: 'A' }],
      customerId: 'c',
    };
    expect(requestFingerprint(reordered)).toBe(requestFingerprint(request));
  });

  it('tells apart any difference in what is asked', () => {
    const base = requestFingerprint(request);
    expect(requestFingerprint({ ...request, customerId: 'd' })).not.toBe(base);
    expect(requestFingerprint({ ...request, items: [{ sku: 'A', quantity: 2 }] })).not.toBe(base);
    expect(requestFingerprint({ ...request, shippingAddress: { ...request.shippingAddress, country: 'SE' } })).not.toBe(base);
  });
});
