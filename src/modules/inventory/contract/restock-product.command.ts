import { IsInt, IsString, Length, Max, Min } from 'class-validator';

/** Adds stock on hand. Answers NOT_FOUND for an unknown sku. */
export class RestockProductCommand {
  @IsString()
  @Length(1, 200)
  readonly sku: string;

  @IsInt()
  @Min(1)
  @Max(1_000_000)
  readonly quantity: number;
}
