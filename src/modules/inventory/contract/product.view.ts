import { ApiProperty } from '@nestjs/swagger';

/** A product as Inventory shows it: `available = onHand - reserved`, never negative. */
export class ProductView {
  readonly sku: string;
  readonly name: string;
  @ApiProperty({ type: 'integer', minimum: 0 })
  readonly priceCents: number;
  @ApiProperty({ type: 'integer', minimum: 0 })
  readonly onHand: number;
  @ApiProperty({ type: 'integer', minimum: 0 })
  readonly reserved: number;
  @ApiProperty({ type: 'integer', minimum: 0 })
  readonly available: number;
}
