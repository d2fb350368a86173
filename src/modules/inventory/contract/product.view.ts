/** A product as Inventory shows it: `available = onHand - reserved`, never negative. */
export interface ProductView {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
}
