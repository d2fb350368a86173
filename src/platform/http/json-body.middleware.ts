import { Injectable, type NestMiddleware } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ProblemException } from './problem.js';

export const MAX_BODY_BYTES = 1024 * 1024;

/** Where the parser leaves the bytes it parsed: what a signed request's signature covers. */
const RAW_BODY = Symbol('rawBody');

const parseJson = express.json({
  limit: MAX_BODY_BYTES,
  strict: false,
  type: () => true,
  // The bytes as received: a signature is over them, not over any re-serialisation of the parsed value.
  // Keeping the buffer costs a reference: the parser allocated it anyway.
  verify: (request, _response, bytes) => {
    (request as unknown as Record<symbol, Buffer>)[RAW_BODY] = bytes;
  },
});

/** The request's body exactly as it was received (empty when it had none): for routes that verify a signature of it. */
export function rawBodyOf(request: Request): Buffer {
  return (request as unknown as Record<symbol, Buffer | undefined>)[RAW_BODY] ?? Buffer.alloc(0);
}

/**
 * Parses JSON bodies with the API's rules: a body must be declared JSON
 * (415 otherwise), at most 1 MiB (413), well-formed (400). Written as a Nest
 * middleware so that its errors go through the one problem+json filter.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  async use(request: Request, response: Response, next: NextFunction): Promise<void> {
    if (!hasBody(request)) return next();
    if (!isJson(request.headers['content-type'])) {
      throw new ProblemException(415, `content type must be application/json, got '${request.headers['content-type'] ?? 'none'}'`);
    }
    try {
      await new Promise<void>((resolve, reject) => parseJson(request, response, (error?: Error) => (error ? reject(error) : resolve())));
    } catch (error) {
      throw toBodyProblem(error) ?? error;
    }
    next();
  }
}

function hasBody(request: Request): boolean {
  if (request.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(request.headers['content-length'] ?? 0);
  return Number.isFinite(length) && length > 0;
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

/** Turns body-parser's errors into the API's problems. */
export function toBodyProblem(error: unknown): ProblemException | undefined {
  const type = (error as { type?: string }).type;
  if (type === 'entity.too.large') return new ProblemException(413, `request body exceeds ${MAX_BODY_BYTES} bytes`);
  if (type === 'entity.parse.failed') return new ProblemException(400, 'request body is not valid JSON');
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
    return new ProblemException(415, (error as Error).message);
  }
  return undefined;
}
