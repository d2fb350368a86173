import { IsOptional, IsString, Length } from 'class-validator';
import { CheckoutRequest } from './checkout.request.js';

/**
 * Places an order and starts its checkout saga. With an idempotency key, the
 * same key and the same request answer the first order and create nothing;
 * the same key with another request is a CONFLICT. A sku that does not exist
 * is UNPROCESSABLE, and nothing is created.
 */
export class PlaceOrderCommand extends CheckoutRequest {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  readonly idempotencyKey?: string;
}
