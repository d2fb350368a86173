/** A product as Inventory shows it: `available = onHand - reserved`, never negative. */
export class ProductView {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
}
