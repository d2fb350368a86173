import { IsString, Length } from 'class-validator';

/**
 * One product by sku. Any string is a valid question: a sku that cannot
 * exist is simply not found.
 */
export class GetProductQuery {
  @IsString()
  @Length(1, 200)
  readonly sku: string;
}
