import { IsString, Length } from 'class-validator';

/**
 * A customer cancels a CONFIRMED order: its cancellation saga starts. A repeat
 * (the order CANCELLING, or CANCELLED by its customer) answers where it stands
 * and starts nothing. CONFLICT while PENDING or when its checkout cancelled it;
 * NOT_FOUND for an unknown id.
 */
export class CancelOrderCommand {
  @IsString()
  @Length(1, 200)
  readonly orderId: string;
}
