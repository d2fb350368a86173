import { shortages } from './shortages.js';

describe('shortages', () => {
  const stock = [
    { sku: 'A', on_hand: 10, reserved: 7 },
    { sku: 'B', on_hand: 5, reserved: 0 },
  ];

  it('is empty when every line fits in what is available, to the last unit', () => {
    expect(shortages([{ sku: 'A', quantity: 3 }, { sku: 'B', quantity: 5 }], stock)).toEqual([]);
  });

  it('counts reserved stock as taken', () => {
    expect(shortages([{ sku: 'A', quantity: 4 }], stock)).toEqual(['A']);
  });

  it('names unknown skus, sorted with the short ones', () => {
    expect(shortages([{ sku: 'Z', quantity: 1 }, { sku: 'B', quantity: 6 }, { sku: 'A', quantity: 1 }], stock)).toEqual(['B', 'Z']);
  });
});
