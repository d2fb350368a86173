import { IsString, Length, Matches } from 'class-validator';

/** ISO 3166-1 alpha-2 as the contract checks it: two capital letters. */
export const COUNTRY_CODE_PATTERN = /^[A-Z]{2}$/;

/**
 * Where a shipment goes. A validated class, not a view, so that the checkout
 * request can nest it and refuse a bad address with a 400 before any saga starts.
 */
export class ShippingAddress {
  @IsString()
  @Length(1, 200)
  readonly name: string;

  @IsString()
  @Length(1, 200)
  readonly line1: string;

  @IsString()
  @Length(1, 100)
  readonly city: string;

  @IsString()
  @Length(1, 20)
  readonly postalCode: string;

  @IsString()
  @Matches(COUNTRY_CODE_PATTERN, { message: 'must be an ISO 3166-1 alpha-2 code (two capital letters)' })
  readonly country: string;
}
