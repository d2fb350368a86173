import { applyDecorators, type Type } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Page } from '../contracts/page.query.js';

const LINK_HEADER = {
  Link: {
    description:
      'RFC 8288: `<…>; rel="next"` when more items follow, the URL of the next page (this request\'s, with `after` set to an opaque cursor). ' +
      'Absent on the last page.',
    required: false,
    schema: { type: 'string' },
  },
};

/**
 * A page as HTTP answers it (store-api.md): the items as the body, and, when
 * more follow, `Link: <…>; rel="next"` to the same request with `after` set.
 * The target is a relative reference (RFC 8288 resolves it against the
 * request's URL), so no Host header a client sent is ever echoed back.
 */
export function answerPage<T>(request: Request, response: Response, page: Page<T>): T[] {
  // A module service of the previous release answers the whole list as an array (ADR 23: the
  // gateway is deployed first, so for a while it may talk to one): answered as it comes.
  if (Array.isArray(page)) return page as T[];
  if (page.next !== null) {
    const next = new URL(request.originalUrl, 'http://origin.invalid');
    next.searchParams.set('after', page.next);
    response.setHeader('Link', `<${next.pathname}${next.search}>; rel="next"`);
  }
  return page.items;
}

/** OpenAPI of a bounded list route: a 200 with an array of `view`, and its Link header. */
export const ApiPage = (view: Type<unknown>): MethodDecorator =>
  applyDecorators(ApiOkResponse({ description: 'At most `limit` items; `Link` gives the next page.', type: view, isArray: true, headers: LINK_HEADER }));
