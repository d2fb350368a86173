import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, Length } from 'class-validator';

/** Current unit prices of the given skus; skus that do not exist are simply absent from the answer. */
export class GetPricesQuery {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Length(1, 200, { each: true })
  readonly skus: string[];
}
