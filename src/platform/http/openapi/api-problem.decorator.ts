import { applyDecorators } from '@nestjs/common';
import { ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { Problem } from './problem.schema.js';

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

export type HeadersObject = Record<string, { description: string; schema: { type: string; [keyword: string]: unknown } }>;

/** `Retry-After` of a 503: whole seconds to wait before trying again. */
export const RETRY_AFTER_HEADER: HeadersObject = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
};

export function problemResponse(description: string, headers?: HeadersObject) {
  return {
    description,
    content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: getSchemaPath(Problem) } } },
    ...(headers ? { headers } : {}),
  };
}

/**
 * Declares a problem+json answer a route gives beyond the ones every route may give
 * (those the platform adds to the document itself: see completeOpenApiDocument), e.g.
 * `@ApiProblem(409, 'the sku exists')`.
 */
export function ApiProblem(status: number, description: string): MethodDecorator & ClassDecorator {
  return applyDecorators(ApiResponse({ status, ...problemResponse(description, status === 503 ? RETRY_AFTER_HEADER : undefined) }));
}
