import { IsString, Length } from 'class-validator';

/** One order by id; any string may be asked, an id that cannot exist is simply not found. */
export class GetOrderQuery {
  @IsString()
  @Length(1, 200)
  readonly orderId: string;
}
