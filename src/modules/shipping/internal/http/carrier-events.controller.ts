import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiProblem, rawBodyOf } from '../../../../platform/index.js';
import { CarrierEvent } from '../../contract/carrier-event.js';
import { InjectShipping, type Shipping } from '../../contract/shipping.contract.js';

/**
 * The carrier's webhook. The gateway holds no secret and trusts nothing here: it hands the
 * Carrier-Signature header and the body's bytes, untouched, to Shipping, which verifies the
 * signature with the secret only its process has, then reads the body (ADR 28).
 */
@Controller('shipping/carrier-events')
export class CarrierEventsController {
  constructor(@InjectShipping() private readonly shipping: Shipping) {}

  @Post()
  @HttpCode(204)
  @ApiHeader({
    name: 'Carrier-Signature',
    required: true,
    description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with CARRIER_WEBHOOK_SECRET>; t within 5 minutes of now.',
  })
  @ApiBody({ type: CarrierEvent })
  @ApiResponse({
    status: 204,
    description: 'Taken: the shipment is DELIVERED or RETURNED, or it was already (a repeat), or it is CANCELLED; nothing changes twice.',
  })
  @ApiProblem(401, 'Missing, wrong or stale Carrier-Signature: nothing changed.')
  @ApiProblem(404, 'No such shipment.')
  @ApiProblem(503, 'The webhook is not configured (CARRIER_WEBHOOK_SECRET), or Shipping is unavailable.')
  async receive(@Req() request: Request, @Headers('carrier-signature') signature: string | undefined): Promise<void> {
    await this.shipping.receiveCarrierEvent({ signature: signature ?? '', body: rawBodyOf(request).toString('base64') });
  }
}
