import { IsOptional, IsString, Length } from 'class-validator';

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

  /**
   * Names the request, not the cancellation: a remote caller sets one (the platform's
   * key, ADR 32) so that its own retry of a request that started the cancellation is
   * answered as that request (started), not as a client's repeat. HTTP sets none.
   */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  readonly requestKey?: string;
}
