import { IsInt, Max, Min } from 'class-validator';

/** Body of `POST /inventory/products/:sku/restock`. */
export class RestockProductRequest {
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  readonly quantity: number;
}
