import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Messaging } from '../messaging/messaging.js';
import { withTimeout } from '../scheduling/with-timeout.js';

/** How long reading the outboxes and the stream may take. */
const READ_TIMEOUT_MS = 2000;

/**
 * `GET /health/events`: how far behind events are in this process, for
 * operators (store-api.md fixes `/health` itself). Per hosted module its
 * outbox (deliveries not yet made, the oldest one's age, dead letters), and
 * per subscriber here its stream consumer (lag, unacknowledged, redelivered).
 * 503 when either cannot be read.
 */
@Controller('health/events')
export class EventsHealthController {
  constructor(private readonly messaging: Messaging) {}

  @Get()
  async events(@Res() response: Response): Promise<void> {
    const [outboxes, consumers] = await Promise.all([
      withTimeout(this.messaging.stats(), READ_TIMEOUT_MS).catch(() => undefined),
      withTimeout(this.messaging.consumerStats(), READ_TIMEOUT_MS).catch(() => undefined),
    ]);
    const readable = outboxes !== undefined && consumers !== undefined;
    response.status(readable ? 200 : 503).json({
      status: readable ? 'ok' : 'degraded',
      outboxes: outboxes ?? null,
      consumers: consumers ?? null,
    });
  }
}
