import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

/** The bounds of every list of the API (store-api.md): `limit` 1..1000, 100 when not given. */
export const PAGE_LIMIT = { min: 1, max: 1000, default: 100 } as const;

/** The longest `after` a list accepts: far above any cursor the platform makes, far below a request line's limit. */
export const MAX_CURSOR_LENGTH = 512;

/**
 * What every list operation takes besides its filter: how many items at most
 * (`limit`), and where the previous page ended (`after`, the opaque cursor a
 * page's `next` gave). A list's query class extends it, so the bound is part
 * of the contract: a list answered over NATS is bounded too, not only at the
 * HTTP edge. Over HTTP, `limit` is a query string read as an integer (the
 * validation pipe reads a query's integer fields as integers, nothing else).
 */
export abstract class PageQuery {
  /** At most this many items (1..1000); 100 when not given. */
  // The swagger plugin reads `number`; the document says integer, as validation does.
  @ApiPropertyOptional({ type: 'integer', minimum: PAGE_LIMIT.min, maximum: PAGE_LIMIT.max, default: PAGE_LIMIT.default })
  @IsOptional()
  @IsInt()
  @Min(PAGE_LIMIT.min)
  @Max(PAGE_LIMIT.max)
  readonly limit?: number;

  /** The cursor of the page before this one (the `after` of a `Link: <…>; rel="next"`), opaque. */
  @IsOptional()
  @IsString()
  @MaxLength(MAX_CURSOR_LENGTH)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'after must be a cursor given by a previous page' })
  readonly after?: string;
}

/**
 * One page of a list: its items, and the cursor of the next page (null on
 * the last one). The HTTP edge answers the items as the body and the cursor
 * as a `Link: <…>; rel="next"` header (RFC 8288).
 */
export interface Page<T> {
  readonly items: T[];
  readonly next: string | null;
}
