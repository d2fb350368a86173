import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Metrics } from './metrics.js';

/** Times every request, labelled by route template (`/orders/:id`), never by raw path: bounded cardinality. */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: Metrics) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    response.once('finish', () => {
      const route = (request.route as { path?: string } | undefined)?.path;
      this.metrics.httpDuration.observe(
        { method: request.method, route: route ? `${request.baseUrl}${route}` : 'unmatched', status: String(response.statusCode) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  }
}
