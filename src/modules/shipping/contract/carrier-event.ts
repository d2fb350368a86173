import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsUUID, Matches } from 'class-validator';

export const CARRIER_OUTCOMES = ['DELIVERED', 'RETURNED'] as const;
export type CarrierOutcome = (typeof CARRIER_OUTCOMES)[number];

/** A date and a time with its offset: a date alone says nothing of when on that day. */
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;

/**
 * What the carrier's webhook says (store-api.md, Shipping): the body of
 * `POST /shipping/carrier-events`. Shipping reads it only once its signature holds.
 */
export class CarrierEvent {
  @ApiProperty({ type: 'string', format: 'uuid' })
  @IsUUID()
  readonly shipmentId: string;

  @ApiProperty({ enum: CARRIER_OUTCOMES })
  @IsIn(CARRIER_OUTCOMES)
  readonly event: CarrierOutcome;

  @ApiProperty({ type: 'string', format: 'date-time' })
  @IsISO8601({ strict: true })
  @Matches(DATE_TIME, { message: 'must be an ISO 8601 date and time with its offset' })
  readonly at: string;
}
