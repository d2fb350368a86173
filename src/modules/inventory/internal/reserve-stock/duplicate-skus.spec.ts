import { duplicateSkus } from './duplicate-skus.js';

describe('duplicateSkus', () => {
  it('accepts distinct skus', () => {
    expect(duplicateSkus([{ sku: 'A' }, { sku: 'B' }, { sku: 'C' }])).toEqual([]);
  });

  it('names every repeat and the line it repeats', () => {
    expect(duplicateSkus([{ sku: 'A' }, { sku: 'B' }, { sku: 'A' }, { sku: 'B' }, { sku: 'A' }])).toEqual([
      { field: 'lines[2].sku', message: 'duplicates lines[0].sku' },
      { field: 'lines[3].sku', message: 'duplicates lines[1].sku' },
      { field: 'lines[4].sku', message: 'duplicates lines[0].sku' },
    ]);
  });
});
