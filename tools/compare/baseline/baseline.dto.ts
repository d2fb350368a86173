import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsString, Length, Matches, Max, Min, ValidateNested } from 'class-validator';

/** The request bodies of store-api.md, with its rules, as one would write them in an ordinary Nest app. */
export class CreateProductBody {
  @IsString() @Matches(/^[A-Z0-9_-]{1,64}$/) sku!: string;
  @IsString() @Length(1, 200) name!: string;
  @IsInt() @Min(0) @Max(100_000_000) priceCents!: number;
  @IsInt() @Min(0) @Max(1_000_000) stock!: number;
}

export class OrderLineBody {
  @IsString() @Matches(/^[A-Z0-9_-]{1,64}$/) sku!: string;
  @IsInt() @Min(1) @Max(1000) quantity!: number;
}

export class AddressBody {
  @IsString() @Length(1, 200) name!: string;
  @IsString() @Length(1, 200) line1!: string;
  @IsString() @Length(1, 100) city!: string;
  @IsString() @Length(1, 20) postalCode!: string;
  @IsString() @Matches(/^[A-Z]{2}$/) country!: string;
}

export class PlaceOrderBody {
  @IsString() @Length(1, 100) customerId!: string;
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => OrderLineBody) items!: OrderLineBody[];
  @IsString() @Matches(/^tok_[a-z0-9_]{1,60}$/) paymentToken!: string;
  @ValidateNested() @Type(() => AddressBody) shippingAddress!: AddressBody;
}
