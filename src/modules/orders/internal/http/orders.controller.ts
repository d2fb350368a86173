import { Body, Controller, Get, Headers, HttpCode, Logger, Param, Post, Res } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiHeader, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblem, preferredWait, ProblemException } from '../../../../platform/index.js';
import { MAX_ORDER_WAIT_MS } from '../../contract/await-order.query.js';
import { CheckoutRequest } from '../../contract/checkout.request.js';
import { OrderView } from '../../contract/order.view.js';
import { InjectOrders, type Orders } from '../../contract/orders.contract.js';
import type { SagaStepView } from '../../contract/saga-step.view.js';
import { CancelAcceptedView } from './cancel-accepted.view.js';
import { CheckoutAcceptedView } from './checkout-accepted.view.js';

const LOCATION = { Location: { description: 'The order: /orders/{orderId}.', schema: { type: 'string' } } };
const APPLIED = {
  'Preference-Applied': {
    description: 'wait=N: the client waited, and the body is the whole order (RFC 7240).',
    schema: { type: 'string', pattern: '^wait=\\d+$' },
  },
};
/** After its N seconds, the order's own answer may take this long to come from another process before the client is answered 202. */
const AWAIT_MARGIN_MS = 2_000;

/** Orders' public HTTP routes. Served by any gateway process, so it only speaks to the contract. */
@Controller('orders')
export class OrdersController {
  constructor(@InjectOrders() private readonly orders: Orders) {}

  private readonly logger = new Logger('orders.http');

  /**
   * 202 + Location for a new order; 200 with the same order for a replayed Idempotency-Key.
   * With `Prefer: wait=N` (RFC 7240, ADR 30), the whole order when its checkout ends within N s: 201, or 200 for a replay.
   */
  @Post()
  @HttpCode(202)
  @ApiExtraModels(OrderView, CheckoutAcceptedView)
  @ApiHeader({
    name: 'Prefer',
    required: false,
    description:
      'wait=N (N an integer 1..30): answer the whole order if its checkout ends within N seconds (201, or 200 for a replayed Idempotency-Key), ' +
      'else 202 as without it. Any other preference, or another value of wait, is ignored (RFC 7240).',
    schema: { type: 'string' },
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'The same key with the same body answers the same order and creates nothing; with another body, 409.',
    schema: { type: 'string', minLength: 1, maxLength: 200 },
  })
  @ApiResponse({
    status: 202,
    description: 'A new order; its checkout runs in the background (or did not end within the wait preferred).',
    type: CheckoutAcceptedView,
    headers: LOCATION,
  })
  @ApiResponse({
    status: 201,
    description: 'Prefer: wait=N, and the checkout ended within N seconds: the whole order, CONFIRMED or CANCELLED.',
    type: OrderView,
    headers: { ...LOCATION, ...APPLIED },
  })
  @ApiResponse({
    status: 200,
    description: 'A replayed Idempotency-Key: the order it placed, nothing new; with Prefer: wait=N applied (Preference-Applied), the whole order.',
    // anyOf: the whole order has the accepted view's fields too.
    schema: { anyOf: [{ $ref: getSchemaPath(CheckoutAcceptedView) }, { $ref: getSchemaPath(OrderView) }] },
    headers: { ...LOCATION, 'Preference-Applied': { ...APPLIED['Preference-Applied'], required: false } },
  })
  @ApiProblem(409, 'The Idempotency-Key was used with a different body.')
  @ApiProblem(422, 'A sku does not exist, or the total is over 2,000,000,000 cents; nothing is created.')
  async checkout(
    @Body() body: CheckoutRequest,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<CheckoutAcceptedView | OrderView> {
    if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 200)) {
      throw new ProblemException(400, 'Idempotency-Key must be 1-200 characters', [{ field: 'Idempotency-Key', message: 'must be 1-200 characters' }]);
    }
    const wait = preferredWait(prefer, MAX_ORDER_WAIT_MS / 1000);
    const result = await this.orders.placeOrder({ ...body, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
    // 200 is for a repeat of the client's own key. Without one, a result that was not created here is
    // a retry of this very request with the key the remote client made up for it (its first attempt
    // missed the deadline): the client's one request placed the order, so it is answered as placed.
    const repeat = !result.created && idempotencyKey !== undefined;
    response.location(`/orders/${result.orderId}`);
    const order = wait === undefined ? undefined : await this.ended(result.orderId, wait * 1000);
    if (order) {
      response.status(repeat ? 200 : 201).setHeader('Preference-Applied', `wait=${wait}`);
      return order;
    }
    response.status(repeat ? 200 : 202);
    return { orderId: result.orderId, status: result.status };
  }

  /**
   * The order once its checkout has ended within `waitMs`; undefined if it has not, or if the
   * wait failed: the order is placed all the same, and its client is answered as without waiting.
   */
  private async ended(orderId: string, waitMs: number): Promise<OrderView | undefined> {
    try {
      const order = await this.orders.awaitOrder({ orderId, waitMs }, { signal: AbortSignal.timeout(waitMs + AWAIT_MARGIN_MS) });
      return order.status === 'PENDING' ? undefined : order;
    } catch (error) {
      this.logger.warn({ msg: `waiting for the order's checkout failed, answering 202: ${(error as Error)?.message ?? error}`, orderId });
      return undefined;
    }
  }

  @Get(':id')
  get(@Param('id') orderId: string): Promise<OrderView> {
    return this.orders.getOrder({ orderId });
  }

  /** 202 + Location when this request starts the cancellation; 200 with where it stands for a repeat. */
  @Post(':id/cancel')
  @HttpCode(202)
  @ApiResponse({
    status: 202,
    description: 'The cancellation started: shipment, stock and charge are undone in the background.',
    type: CancelAcceptedView,
    headers: LOCATION,
  })
  @ApiResponse({
    status: 200,
    description: 'A repeat: the order is CANCELLING, or already CANCELLED by its customer; nothing new starts.',
    type: CancelAcceptedView,
    headers: LOCATION,
  })
  @ApiBody({ required: false, description: 'None, or `{}`.', schema: { type: 'object', additionalProperties: false, maxProperties: 0 } })
  @ApiProblem(404, 'No such order.')
  @ApiProblem(409, 'The order is PENDING (its checkout still runs), or was cancelled by its checkout.')
  async cancel(@Param('id') orderId: string, @Body() body: unknown, @Res({ passthrough: true }) response: Response): Promise<CancelAcceptedView> {
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
  if (typeof body !== 'object' || Array.isArray(body))
    throw new ProblemException(400, 'the body must be empty or {}', [{ field: '', message: 'must be an empty object' }]);
  const properties = Object.keys(body);
  if (properties.length > 0) {
    throw new ProblemException(
      400,
      `the body must be empty or {}: property ${properties[0]} should not exist`,
      properties.map((field) => ({ field, message: 'should not exist' })),
    );
  }
}
