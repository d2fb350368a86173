import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsObject, IsUUID, ValidateNested } from 'class-validator';
import { StockLine } from './stock-line.js';

/**
 * Reserves every line for an order, or none (all-or-nothing). Idempotent by
 * orderId: once an order has a reservation record, whatever its status, the
 * same record is answered and nothing changes. Lines must name distinct skus.
 */
export class ReserveStockCommand {
  @IsUUID()
  readonly orderId: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  // Each line an object: ValidateNested alone lets an array of arrays through.
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => StockLine)
  readonly lines: StockLine[];
}
