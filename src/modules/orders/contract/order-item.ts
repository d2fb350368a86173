import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { SKU_PATTERN } from '../../inventory/index.js';

/** One line of a checkout: which sku, how many. Prices come from Inventory, never from the client. */
export class OrderItem {
  @IsString()
  @Matches(SKU_PATTERN, { message: 'must be 1-64 characters of A-Z, 0-9, - and _' })
  readonly sku: string;

  @IsInt()
  @Min(1)
  @Max(1000)
  readonly quantity: number;
}
