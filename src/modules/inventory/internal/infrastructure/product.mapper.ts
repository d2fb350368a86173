import type { ProductView } from '../../contract/product.view.js';

/** A `products` row as Postgres returns it from `RETURNING *`. */
export interface ProductRow {
  readonly sku: string;
  readonly name: string;
  readonly price_cents: number;
  readonly on_hand: number;
  readonly reserved: number;
}

export function toProductView(product: { sku: string; name: string; priceCents: number; onHand: number; reserved: number }): ProductView {
  return {
    sku: product.sku,
    name: product.name,
    priceCents: product.priceCents,
    onHand: product.onHand,
    reserved: product.reserved,
    available: Math.max(0, product.onHand - product.reserved),
  };
}

export function rowToProductView(row: ProductRow): ProductView {
  return toProductView({ sku: row.sku, name: row.name, priceCents: row.price_cents, onHand: row.on_hand, reserved: row.reserved });
}
