import { IsInt, IsString, Length, Max, Min } from 'class-validator';

/** The small query DTO the adapter benchmark calls with (and the validation spec covers). */
export class GetThingQuery {
  @IsString()
  @Length(1, 64)
  id: string;

  @IsInt()
  @Min(1)
  @Max(100)
  quantity: number;
}
