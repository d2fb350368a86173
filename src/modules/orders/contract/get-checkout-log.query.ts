import { IsString, Length } from 'class-validator';

/** The checkout log of one order by id (the same shape as GetOrderQuery: each query has a class of its own, and one handler). */
export class GetCheckoutLogQuery {
  @IsString()
  @Length(1, 200)
  readonly orderId: string;
}
