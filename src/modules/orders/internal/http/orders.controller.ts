import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblem, ProblemException } from '../../../../platform/index.js';
import { CheckoutRequest } from '../../contract/checkout.request.js';
import type { OrderView } from '../../contract/order.view.js';
import { InjectOrders, type Orders } from '../../contract/orders.contract.js';
import type { SagaStepView } from '../../contract/saga-step.view.js';
import { CancelAcceptedView } from './cancel-accepted.view.js';
import { CheckoutAcceptedView } from './checkout-accepted.view.js';

const LOCATION = { Location: { description: 'The order: /orders/{orderId}.', schema: { type: 'string' } } };

/** Orders' public HTTP routes. Served by any gateway process, so it only speaks to the contract. */
@Controller('orders')
export class OrdersController {
  constructor(@InjectOrders() private readonly orders: Orders) {}

  /** 202 + Location for a new order; 200 with the same order for a replayed Idempotency-Key. */
  @Post()
  @HttpCode(202)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'The same key with the same body answers the same order and creates nothing; with another body, 409.',
    schema: { type: 'string', minLength: 1, maxLength: 200 },
  })
  @ApiResponse({ status: 202, description: 'A new order; its checkout runs in the background.', type: CheckoutAcceptedView, headers: LOCATION })
  @ApiResponse({ status: 200, description: 'A replayed Idempotency-Key: the order it placed, nothing new.', type: CheckoutAcceptedView, headers: LOCATION })
  @ApiProblem(409, 'The Idempotency-Key was used with a different body.')
  @ApiProblem(422, 'A sku does not exist, or the total is over 2,000,000,000 cents; nothing is created.')
  async checkout(
    @Body() body: CheckoutRequest,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<CheckoutAcceptedView> {
    if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 200)) {
      throw new ProblemException(400, 'Idempotency-Key must be 1-200 characters', [
        { field: 'Idempotency-Key', message: 'must be 1-200 characters' },
      ]);
    }
    const result = await this.orders.placeOrder({ ...body, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
    // 200 is for a repeat of the client's own key. Without one, a result that was not created here is
    // a retry of this very request with the key the remote client made up for it (its first attempt
    // missed the deadline): the client's one request placed the order, so it is answered as placed.
    const repeat = !result.created && idempotencyKey !== undefined;
    response.status(repeat ? 200 : 202).location(`/orders/${result.orderId}`);
    return { orderId: result.orderId, status: result.status };
  }

  @Get(':id')
  get(@Param('id') orderId: string): Promise<OrderView> {
    return this.orders.getOrder({ orderId });
  }

  /** 202 + Location when this request starts the cancellation; 200 with where it stands for a repeat. */
  @Post(':id/cancel')
  @HttpCode(202)
  @ApiResponse({ status: 202, description: 'The cancellation started: shipment, stock and charge are undone in the background.', type: CancelAcceptedView, headers: LOCATION })
  @ApiResponse({ status: 200, description: 'A repeat: the order is CANCELLING, or already CANCELLED by its customer; nothing new starts.', type: CancelAcceptedView, headers: LOCATION })
  @ApiBody({ required: false, description: 'None, or `{}`.', schema: { type: 'object', additionalProperties: false, maxProperties: 0 } })
  @ApiProblem(404, 'No such order.')
  @ApiProblem(409, 'The order is PENDING (its checkout still runs), or was cancelled by its checkout.')
  async cancel(
    @Param('id') orderId: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ): Promise<CancelAcceptedView> {
    refuseAnyProperty(body);
    const result = await this.orders.cancelOrder({ orderId });
    response.status(result.started ? 202 : 200).location(`/orders/${result.orderId}`);
    return { orderId: result.orderId, status: result.status };
  }

  @Get(':id/saga')
  saga(@Param('id') orderId: string): Promise<SagaStepView[]> {
    return this.orders.getCheckoutLog({ orderId });
  }
}

/** The cancellation takes no input: no body, or `{}`; anything else is 400. */
function refuseAnyProperty(body: unknown): void {
  if (body === undefined || body === null) return;
  if (typeof body !== 'object' || Array.isArray(body)) throw new ProblemException(400, 'the body must be empty or {}', [{ field: '', message: 'must be an empty object' }]);
  const properties = Object.keys(body);
  if (properties.length > 0) {
    throw new ProblemException(
      400,
      `the body must be empty or {}: property ${properties[0]} should not exist`,
      properties.map((field) => ({ field, message: 'should not exist' })),
    );
  }
}
