import type { StockChange, StockRow } from '../infrastructure/product-stock.store.js';

/**
 * The skus of `lines` that cannot be reserved from `stock`: not enough
 * available (`on_hand - reserved`), or no such product. Sorted, so that the
 * same shortage always reads the same.
 */
export function shortages(lines: readonly StockChange[], stock: readonly StockRow[]): string[] {
  const bySku = new Map(stock.map((row) => [row.sku, row]));
  return lines
    .filter((line) => {
      const row = bySku.get(line.sku);
      return row === undefined || row.on_hand - row.reserved < line.quantity;
    })
    .map((line) => line.sku)
    .sort();
}
