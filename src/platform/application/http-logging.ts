import type { DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as Pino } from 'pino';
import type { TracedRequest } from '../observability/http-tracing.middleware.js';

/** One structured log line per HTTP request (pino-http), through the process's one root logger, with its trace ids. */
export function httpLogging(pinoRoot: Pino): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      logger: pinoRoot,
      // One line per request, with its trace; probes (and the console's polling) would drown the rest.
      autoLogging: { ignore: (request) => /^\/(health|metrics|console\/api\/overview)\b/.test(request.url ?? '') },
      customProps: (request) => (request as TracedRequest).traceIds ?? {},
      serializers: {
        req: (request: { method: string; url: string }) => ({ method: request.method, url: request.url }),
        res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
      },
    },
  });
}
