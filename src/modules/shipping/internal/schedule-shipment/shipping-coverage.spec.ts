import { isServed } from './shipping-coverage.js';

describe('shipping coverage', () => {
  it('serves every country but Antarctica', () => {
    expect(isServed('AQ')).toBe(false);
    for (const country of ['NO', 'US', 'FR', 'AR', 'NZ']) expect(isServed(country)).toBe(true);
  });
});
