export interface PriceView {
  readonly sku: string;
  readonly priceCents: number;
}
