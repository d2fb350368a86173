import { IsInt, IsString, Length, Matches, Max, Min } from 'class-validator';
import { SKU_PATTERN } from './sku.js';

/** Adds a product to the catalogue with its initial stock. Answers CONFLICT when the sku exists. */
export class CreateProductCommand {
  @IsString()
  @Matches(SKU_PATTERN, { message: 'must be 1-64 characters of A-Z, 0-9, - and _' })
  readonly sku: string;

  @IsString()
  @Length(1, 200)
  readonly name: string;

  @IsInt()
  @Min(0)
  @Max(100_000_000)
  readonly priceCents: number;

  @IsInt()
  @Min(0)
  @Max(1_000_000)
  readonly stock: number;
}
