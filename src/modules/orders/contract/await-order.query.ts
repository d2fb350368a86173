import { IsInt, IsString, Length, Max, Min } from 'class-validator';

/** The longest a caller may wait for a checkout's end: store-api.md's `Prefer: wait` allows 30 s. */
export const MAX_ORDER_WAIT_MS = 30_000;

/**
 * The order once its checkout has ended (CONFIRMED or CANCELLED), or as it
 * stands after `waitMs` if it has not: answered when the checkout ends,
 * whichever process ran it; the wait holds no connection and no lock (ADR 30).
 * An order that does not exist is NOT_FOUND.
 */
export class AwaitOrderQuery {
  @IsString()
  @Length(1, 200)
  readonly orderId: string;

  @IsInt()
  @Min(1)
  @Max(MAX_ORDER_WAIT_MS)
  readonly waitMs: number;
}
