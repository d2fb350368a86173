import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsObject, IsString, Length, Matches, ValidateNested } from 'class-validator';
import { PAYMENT_TOKEN_PATTERN } from '../../payments/index.js';
import { ShippingAddress } from '../../shipping/index.js';
import { DistinctSkus } from './distinct-skus.validator.js';
import { OrderItem } from './order-item.js';

/** Body of `POST /orders` (store-api.md): what a customer asks to buy, how to pay, where to ship. */
export class CheckoutRequest {
  @IsString()
  @Length(1, 100)
  readonly customerId: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  // Each line an object: ValidateNested alone lets an array of arrays through.
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => OrderItem)
  @DistinctSkus()
  readonly items: OrderItem[];

  @IsString()
  @Matches(PAYMENT_TOKEN_PATTERN, { message: 'must match tok_ followed by 1-60 characters of a-z, 0-9 and _' })
  readonly paymentToken: string;

  // IsObject: ValidateNested alone would accept an array.
  @IsObject()
  @ValidateNested()
  @Type(() => ShippingAddress)
  readonly shippingAddress: ShippingAddress;
}
