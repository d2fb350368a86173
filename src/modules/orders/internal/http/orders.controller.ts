import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ProblemException } from '../../../../platform/http/problem.js';
import { CheckoutRequest } from '../../contract/checkout.request.js';
import type { OrderStatus, OrderView } from '../../contract/order.view.js';
import { InjectOrders, type Orders } from '../../contract/orders.contract.js';
import type { SagaStepView } from '../../contract/saga-step.view.js';

/** Orders' public HTTP routes. Served by any gateway process, so it only speaks to the contract. */
@Controller('orders')
export class OrdersController {
  constructor(@InjectOrders() private readonly orders: Orders) {}

  /** 202 + Location for a new order; 200 with the same order for a replayed Idempotency-Key. */
  @Post()
  @HttpCode(202)
  async checkout(
    @Body() body: CheckoutRequest,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<{ orderId: string; status: OrderStatus }> {
    if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 200)) {
      throw new ProblemException(400, 'Idempotency-Key must be 1-200 characters', [
        { field: 'Idempotency-Key', message: 'must be 1-200 characters' },
      ]);
    }
    const result = await this.orders.placeOrder({ ...body, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
    response.status(result.created ? 202 : 200).location(`/orders/${result.orderId}`);
    return { orderId: result.orderId, status: result.status };
  }

  @Get(':id')
  get(@Param('id') orderId: string): Promise<OrderView> {
    return this.orders.getOrder({ orderId });
  }

  @Get(':id/saga')
  saga(@Param('id') orderId: string): Promise<SagaStepView[]> {
    return this.orders.getCheckoutLog({ orderId });
  }
}
